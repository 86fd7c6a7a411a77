"""The figures a question states and the notice when its answer's sources never mention them."""

from __future__ import annotations

import pytest

from alignment_qa.engine.stated_figures import stated_figures, unconfirmed, unconfirmed_notice


def _shown(question: str) -> list[str]:
    return [figure.shown for figure in stated_figures(question)]


@pytest.mark.parametrize(
    ("question", "figures"),
    [
        ("Did OpenAI invent RLHF in 2022?", ["2022"]),
        ("Why can the EU AI Office fine providers up to 10% of their turnover?", ["10%"]),
        ("How many features did the autoencoder on Claude 3 Sonnet find - 34 million?", ["34 million"]),
        ("What was agreed at the AI Seoul Summit in May 2024?", ["2024"]),  # a year after a name is a date
        ("what happened in the 1960s, and in 1960?", ["1960s", "1960"]),
        ("In 2019, who coined it? And in 2019?", ["2019"]),  # once each
        ("Name 3 risks and 2,000 GPUs, 0.5 of them", ["2,000", "0.5"]),  # "Name 3 risks": what is asked for
        ("List 3 examples of reward hacking, or the top 5 risks", []),
        ("Why train on only about 2 tokens per parameter?", ["2"]),
        # names and parts, not figures
        ("What did AlphaFold 3 add over AlphaFold 2?", []),
        ("Is Llama 2 open?", []),
        ("What does the NIST AI RMF 1.0 say? And ISO/IEC 42001?", []),
        ("What does chapter 8 cover, and section 4.2, and step 3?", []),
        ("Is GPT-4 trained on H100s, 10x more, in 3D?", []),
        ("What are the three layers of sandwiching?", []),  # counted in words: how the user counts what they ask
    ],
)
def test_figures_a_question_states(question: str, figures: list[str]) -> None:
    assert _shown(question) == figures


def test_a_figure_is_confirmed_by_any_source_writing_that_number() -> None:
    figures = stated_figures("10% or 10 percent, 2,000, 1960s, 3 or 34 million in 2022 or 2023?")
    sources = ["It rose 10 percent by 1960.", "Three of them, 2000 in all, and 34M features.", "By 2023 …"]
    assert [figure.shown for figure in unconfirmed(figures, sources)] == ["2022"]
    assert unconfirmed(stated_figures("in the 2020s? in 2022?"), ["through the 2020s"]) == stated_figures("2022")


def test_the_notice_names_each_figure_as_the_user_wrote_it() -> None:
    missing = stated_figures("Did it cost 10% in 2022 or 34 million?")
    assert unconfirmed_notice(missing[:1]) == "The quoted sources do not mention 10%, which the question states."
    assert unconfirmed_notice(missing) == (
        "The quoted sources do not mention 10%, 2022 or 34 million, which the question states."
    )

"""The LLM answer path pinned with a scripted OpenAI-compatible endpoint that writes what each test
scripts, from the sources in its prompt: a well-cited answer stays the model's own, streamed token by
token, its citations resolved to the right pages and checked; numbers that point nowhere are dropped
and reported; an invented sentence is flagged; a refusal is a "not covered" answer; an answer citing
nothing falls back to quoted evidence; a follow-up is rewritten by the model before retrieval.

A small real model cannot be relied on to write any of these (test_llm_backend.py runs one for the
wiring); everything but the model is real: the packaged embedder, Chroma, the support judge.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from alignment_qa.engine.answer import Answer, AnswerEvent, TokenEvent
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.citations import resolve
from alignment_qa.engine.query_engine import NOT_COVERED
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import load_settings
from conftest import BuiltIndex
from llm_servers import scripted_endpoint
from test_assistant import page_text

QUESTION = "What is reward hacking?"
_SOURCE = re.compile(r'<source id="(\d+)">\n(.*?)\n</source>', re.S)


def quotable(prompt: str, n: int) -> str:
    """The longest sentence of source ``n`` in ``prompt`` (a line of the page's text, not its title or
    section), without its full stop: what a faithful model would write, ready for a marker."""
    sources = {int(number): text for number, text in _SOURCE.findall(prompt)}
    sentences = [
        sentence.strip()
        for line in sources[n].splitlines()[1:]
        for sentence in re.split(r"(?<=[.!?])\s+", line)
        if sentence.strip().endswith(".") and len(sentence.split()) >= 6 and "[" not in sentence
    ]
    return max(sentences, key=len).rstrip(".")


def ask(
    sample_index: BuiltIndex, embedder: Embedder, write: Callable[[str], str], history: list[str] | None = None
) -> tuple[Answer, list[str], list[str]]:
    """The streamed answer to ``QUESTION`` from a model that writes ``write(prompt)``; the answer, its
    tokens and every prompt the model was sent."""
    with scripted_endpoint(write) as (url, requests):
        overrides = {
            "store.data_dir": str(sample_index.settings.store.data_dir),
            "answer.mode": "llm",
            "llm.base_url": url,
            "llm.timeout_s": 10,
            "retrieval.top_k": 3,
        }
        assistant = Assistant.open(load_settings(None, overrides).settings, embedder=embedder)
        turns = [{"role": "user", "content": turn} for turn in history or []]
        events = list(assistant.stream(QUESTION, turns or None))
    final = events[-1]
    assert isinstance(final, AnswerEvent)
    prompts = [str(message["content"]) for body in requests for message in body["messages"]]
    return final.answer, [event.text for event in events if isinstance(event, TokenEvent)], prompts


def test_a_well_cited_answer_is_the_models_own(sample_index: BuiltIndex, embedder: Embedder) -> None:
    answer, tokens, _ = ask(
        sample_index, embedder, lambda prompt: f"{quotable(prompt, 1)} [1]. {quotable(prompt, 2)} [2]."
    )
    assert answer.mode == "llm" and answer.covered and not answer.notice, answer.notice
    assert len(tokens) > 10  # streamed word by word
    streamed = resolve("".join(tokens), len(answer.retrieved))
    assert [s.text for s in streamed.sentences] == [s.text for s in answer.sentences]
    assert [s.citations for s in answer.sentences] == [[1], [2]]
    assert all(sentence.supported for sentence in answer.sentences)
    assert [c.page_id for c in answer.citations] == [p.page_id for p in answer.retrieved[:2]]
    for citation, sentence in zip(answer.citations, answer.sentences, strict=True):
        assert page_text(citation.page_id)[citation.start : citation.end] == citation.quote
        assert sentence.text.rstrip(".") in citation.quote or citation.quote in sentence.text
    assert answer.dropped_citations == [] and answer.judge


def test_numbers_pointing_nowhere_are_dropped_and_an_invented_claim_is_flagged(
    sample_index: BuiltIndex, embedder: Embedder
) -> None:
    answer, _, _ = ask(
        sample_index,
        embedder,
        lambda prompt: f"{quotable(prompt, 1)} [1][9]. Reward hacking was first seen by bakers in 1850 [2].",
    )
    assert answer.mode == "llm" and answer.dropped_citations == [9]
    assert [sentence.supported for sentence in answer.sentences] == [True, False]
    assert "[9]" in answer.notice and "not supported" in answer.notice
    assert "[9]" not in answer.text


def test_a_refusal_is_a_not_covered_answer_with_the_nearest_pages(sample_index: BuiltIndex, embedder: Embedder) -> None:
    answer, _, _ = ask(sample_index, embedder, lambda prompt: "The sources do not cover this question.")
    assert not answer.covered and answer.text.startswith(NOT_COVERED)
    assert "found no answer in the sources" in answer.notice
    assert answer.retrieved and "nearest pages" in answer.text.lower()


def test_an_answer_citing_nothing_falls_back_to_quoted_evidence(sample_index: BuiltIndex, embedder: Embedder) -> None:
    answer, tokens, _ = ask(sample_index, embedder, lambda prompt: "Reward hacking is a thing models do.")
    assert tokens and answer.mode == "evidence"
    assert "language model failed" in answer.notice and "cited no source" in answer.notice
    assert answer.citations and all(sentence.supported for sentence in answer.sentences)


def test_a_follow_up_is_rewritten_by_the_model_before_retrieval(sample_index: BuiltIndex, embedder: Embedder) -> None:
    def write(prompt: str) -> str:
        if prompt.startswith("Rewrite the last question"):
            return "What is Goodhart's law?"
        return f"{quotable(prompt, 1)} [1]."

    answer, _, prompts = ask(sample_index, embedder, write, history=["What is reward hacking?"])
    assert answer.standalone_question == "What is Goodhart's law?"
    assert any("Question: What is Goodhart's law?" in prompt for prompt in prompts)
    assert answer.mode == "llm" and answer.citations[0].page_id == "wiki/goodharts-law.md"


@pytest.mark.parametrize("form", ["{quote} [1, 2].", "{quote} [1][2].", "{quote}. [1]"])
def test_marker_forms_resolve(sample_index: BuiltIndex, embedder: Embedder, form: str) -> None:
    answer, _, _ = ask(sample_index, embedder, lambda prompt: form.format(quote=quotable(prompt, 1)))
    assert answer.mode == "llm" and answer.sentences[0].citations[0] == 1 and answer.sentences[0].supported

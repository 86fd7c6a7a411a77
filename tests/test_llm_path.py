"""The LLM answer path pinned with a scripted OpenAI-compatible endpoint that writes what each test
scripts, from the sources in its prompt: a well-cited answer stays the model's own, streamed token by
token, its citations resolved to the right pages and checked; numbers that point nowhere are dropped
and reported; an invented sentence is flagged; a refusal is a "not covered" answer; an answer citing
nothing falls back to quoted evidence; a follow-up is rewritten by the model before retrieval; and the
verifier alone on text the way a weak model writes it.

A small real model cannot be relied on to write any of these (test_llm_backend.py runs one for the
wiring); everything but the model is real: the packaged embedder, Chroma, the support judge.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from llama_index.core.schema import QueryBundle

from alignment_qa.engine.answer import Answer, AnswerEvent, TokenEvent
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.citations import resolve
from alignment_qa.engine.evidence import Draft
from alignment_qa.engine.query_engine import NOT_COVERED
from alignment_qa.engine.verify import verify
from alignment_qa.index.embedder import Embedder
from alignment_qa.ingest.chunk import split_sentences
from conftest import BuiltIndex, llm_settings
from llm_servers import free_port, scripted_endpoint
from test_assistant import page_text

QUESTION = "What is reward hacking?"
_SOURCE = re.compile(r'<source id="(\d+)">\n(.*?)\n</source>', re.S)


def quotable(prompt: str, n: int) -> str:
    """The longest sentence of source ``n``'s page text in ``prompt`` (after its title and section lines), split
    as the product splits sentences, without its full stop: what a faithful model would write, ready for a
    marker."""
    sources = {int(number): text for number, text in _SOURCE.findall(prompt)}
    body = sources[n].split("\n\n", 1)[-1]
    spans = [body[start:end] for start, end in split_sentences(body, 0, len(body))]
    sentences = [text for text in spans if text.endswith(".") and len(text.split()) >= 6 and "[" not in text]
    assert sentences, f"source {n} has no quotable sentence: {body[:200]!r}"
    return max(sentences, key=len).rstrip(".")


def ask(
    sample_index: BuiltIndex,
    embedder: Embedder,
    write: Callable[[str], str],
    question: str = QUESTION,
    history: list[str] | None = None,
) -> tuple[Answer, list[str], list[str]]:
    """The streamed answer to ``question`` from a model that writes ``write(prompt)``; the answer, its
    tokens and every prompt the model was sent."""
    with scripted_endpoint(write) as (url, requests):
        assistant = Assistant.open(llm_settings(sample_index, url, **{"llm.timeout_s": 10}), embedder=embedder)
        turns = [{"role": "user", "content": turn} for turn in history or []]
        events = list(assistant.stream(question, turns or None))
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
            return "How does Goodhart's law relate to reward hacking?"
        return f"{quotable(prompt, 1)} [1]."

    follow_up = "And how does Goodhart's law relate to it?"
    answer, _, prompts = ask(sample_index, embedder, write, follow_up, history=[QUESTION])
    condense = next(prompt for prompt in prompts if prompt.startswith("Rewrite the last question"))
    assert f"User: {QUESTION}" in condense and f"Last question: {follow_up}" in condense
    assert answer.standalone_question == "How does Goodhart's law relate to reward hacking?"
    assert any("Question: How does Goodhart's law relate to reward hacking?" in prompt for prompt in prompts)
    assert answer.mode == "llm" and answer.sentences[0].supported


@pytest.mark.parametrize(
    ("form", "numbers"), [("{quote} [1, 2].", [1, 2]), ("{quote} [1][2].", [1, 2]), ("{quote}. [1]", [1])]
)
def test_marker_forms_resolve(sample_index: BuiltIndex, embedder: Embedder, form: str, numbers: list[int]) -> None:
    """Every number of a marker is kept; a sentence is supported when one of its cited sources supports it."""
    answer, _, _ = ask(sample_index, embedder, lambda prompt: form.format(quote=quotable(prompt, 1)))
    assert answer.mode == "llm" and answer.sentences[0].citations == numbers and answer.sentences[0].supported
    assert [c.page_id for c in answer.citations] == [answer.retrieved[n - 1].page_id for n in numbers]


def test_verdicts_on_text_the_way_a_weak_model_writes_it(sample_index: BuiltIndex, embedder: Embedder) -> None:
    """The verifier alone: a true sentence, an invented one citing a real source, and one citing nothing real."""
    never_called = f"http://127.0.0.1:{free_port()}/v1"  # the model is not asked: the text is given
    assistant = Assistant.open(llm_settings(sample_index, never_called), embedder=embedder)
    passages = assistant.query_engine.retrieve(QueryBundle("What is Goodhart's law?"), 4)
    goodhart = next(i for i, p in enumerate(passages, 1) if p.node.metadata["page_id"] == "wiki/goodharts-law.md")
    text = (
        f"When a measure becomes a target, it ceases to be a good measure [{goodhart}]. "
        f"Goodhart's law was discovered by bakers in 1850 to predict the price of bread [{goodhart}]. "
        "It is also true on Mars [42]."
    )
    parsed = resolve(text, len(passages))
    checked = verify(Draft(parsed), passages, assistant.judge, assistant.settings.answer.support_threshold)
    assert [sentence.supported for sentence in checked.sentences] == [True, False, False]
    assert parsed.dropped == [42]
    notice = " ".join(checked.notices)
    assert "[42]" in notice and "2 of 3" in notice
    assert checked.citations[0].page_id == "wiki/goodharts-law.md"

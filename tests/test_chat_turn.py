"""The chat page's actions without a browser: plain calls of ``chat_turn``'s functions.

A turn runs on the real assistant over the sample index; the engine's failures come from the
real assistant too (an empty question) or from a small stand-in whose stream raises. Feedback goes
to a real feedback file in a temp folder.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.app.answer_ids import AnswerSigner
from alignment_qa.app.assistant_slot import NO_INDEX
from alignment_qa.app.chat_turn import (
    PICK_A_SOURCE,
    THANKS,
    Update,
    chat_turn,
    citation_choices,
    flag,
    like,
    new_conversation,
    select_message,
    sources_panel,
)
from alignment_qa.app.feedback import FeedbackStore
from alignment_qa.app.format import sources_html
from alignment_qa.engine.answer import StatusEvent, StreamEvent
from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import public_settings
from conftest import BuiltIndex

QUESTION = "What is Goodhart's law?"


@pytest.fixture(scope="module")
def assistant(sample_index: BuiltIndex, embedder: Embedder) -> Assistant:
    return Assistant.open(sample_index.settings, embedder=embedder)


def _turn(assistant: Any, message: str, **options: Any) -> list[Update]:
    return list(chat_turn(assistant, message, [], [], {}, **options))


def test_a_turn_streams_then_shows_the_cited_answer(assistant: Assistant) -> None:
    settings = public_settings(assistant.settings)
    signer = AnswerSigner(b"k" * 32)
    updates = _turn(assistant, QUESTION, top_k=3, settings=settings, signer=signer)
    *progress, last = updates
    assert progress and all(set(update) == {"chat"} for update in progress)  # status lines change only the chat
    assert "Searching the pages" in progress[0]["chat"][-1]["content"]
    assert set(last) == {"chat", "history", "sources", "box", "selected", "answers"}
    user, reply = last["chat"]
    assert user == {"role": "user", "content": html.escape(QUESTION)}
    assert 'class="aqa-cite"' in reply["content"] and 'data-card="source-1-1"' in reply["content"]
    assert last["selected"] == 1 and last["box"] == ""
    record = last["answers"][1]
    assert signer.verify(record["answer"])  # feedback on it will be accepted
    assert record["settings"]["retrieval"]["top_k"] == 3 and record["settings"]["answer"]["mode"] == "evidence"
    assert last["history"] == [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": record["answer"]["text"]},
    ]
    assert "wiki/goodharts-law.md" in last["sources"] and 'id="source-1-1"' in last["sources"]


def test_a_follow_up_extends_the_conversation(assistant: Assistant) -> None:
    first = _turn(assistant, QUESTION)[-1]
    second = list(
        chat_turn(assistant, "and how does it relate to AI?", first["chat"], first["history"], first["answers"])
    )[-1]
    assert len(second["chat"]) == 4 and second["selected"] == 3
    assert set(second["answers"]) == {1, 3} and len(second["history"]) == 4


def test_without_an_index_the_page_says_how_to_add_pages() -> None:
    (update,) = _turn(None, "<b>hi</b>")
    assert update["chat"][0]["content"] == "&lt;b&gt;hi&lt;/b&gt;"
    assert update["chat"][1]["content"] == html.escape(NO_INDEX)
    assert update == {**update, "sources": sources_html(None), "box": "", "selected": None}
    assert "answers" not in update and "history" not in update


def test_an_engine_error_is_a_notice_and_the_question_comes_back(assistant: Assistant) -> None:
    (update,) = _turn(assistant, "   ")
    assert set(update) == {"chat", "box"} and update["box"] == "   "
    assert 'class="aqa-notice"' in update["chat"][-1]["content"] and "empty" in update["chat"][-1]["content"]


class _Broken:
    """An assistant whose answer fails half-way with a bug."""

    def stream(self, *args: object) -> Iterator[StreamEvent]:
        yield StatusEvent("Searching the pages…")
        raise RuntimeError("index <exploded>")


def test_a_bug_is_a_short_notice_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    *_, update = _turn(_Broken(), "What is reward hacking?")
    assert set(update) == {"chat", "box"} and update["box"] == "What is reward hacking?"
    notice = update["chat"][-1]["content"]
    assert "RuntimeError" in notice and "exploded" not in notice
    assert "index <exploded>" in caplog.text


def test_choosing_a_message_shows_its_sources(assistant: Assistant) -> None:
    answers = _turn(assistant, QUESTION)[-1]["answers"]
    assert select_message(answers, 0, False) == {}  # the question: nothing changes
    chosen = select_message(answers, 1, True)
    assert chosen["selected"] == 1 and chosen["sources"] == sources_panel(answers, 1, True)
    assert "aqa-retrieved" in chosen["sources"]  # every retrieved passage, with scores
    assert chosen["citations"] == citation_choices(answers, 1) and chosen["citations"][0].startswith("[1] ")
    assert citation_choices(answers, None) == [] and sources_panel(answers, None, False) == sources_html(None)
    assert set(new_conversation()) == {"chat", "history", "sources", "selected", "answers", "citations", "thanks"}


def test_thumbs_and_flags_are_recorded(assistant: Assistant, tmp_path: Path) -> None:
    feedback = FeedbackStore(tmp_path / "feedback.sqlite", AnswerSigner(b"s" * 32))
    last = list(chat_turn(assistant, QUESTION, [], [], {}, settings={}, signer=feedback.signer))[-1]
    answers = last["answers"]
    assert like(feedback, answers, 1, True) == THANKS
    assert like(feedback, answers, 1, None) == ""  # undoing a like records nothing
    assert like(feedback, answers, 0, True) == ""  # the question is not an answer
    assert like(None, answers, 1, False) == ""  # feedback off
    assert flag(feedback, answers, 1, None) == PICK_A_SOURCE
    choice = citation_choices(answers, 1)[0]
    assert flag(feedback, answers, 1, choice) == "Source [1] flagged as wrong: thanks."
    rows = list(feedback.rows())
    assert [row["kind"] for row in rows] == ["up", "wrong_source"] and rows[1]["citation"] == 1

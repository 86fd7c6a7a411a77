"""The chat page's actions as plain functions: a turn, a chosen message, feedback, a new conversation.

``chat_turn`` streams one answer (question, conversation and settings in) into page updates. An
update is a dict naming only the parts of the page that change (see ``Update``), so the page just
maps names to its components. The page state is plain values: chat messages as HTML, the history
the assistant reads, and each shown answer's record (its JSON, signed, and the settings it used)
by chat message index, for the sources panel and feedback. HTML comes from ``format``; Gradio,
its components and events are left to ``web``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, cast

from alignment_qa.app.assistant_slot import NO_INDEX
from alignment_qa.app.feedback import FeedbackStore, settings_used
from alignment_qa.app.format import answer_html, sources_html
from alignment_qa.engine.answer import Answer, AnswerEvent, StatusEvent, TokenEvent
from alignment_qa.errors import AlignmentQAError

if TYPE_CHECKING:
    from alignment_qa.app.answer_ids import AnswerSigner
    from alignment_qa.engine.answer import Mode
    from alignment_qa.engine.assistant import Assistant

log = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "user" | "assistant", "content": ...}
Record = dict[str, Any]  # {"answer": the Answer JSON as shown (signed), "settings": the settings it used}
Answers = dict[int, Record]  # chat message index -> the record of the answer shown there
THANKS = "Thanks: feedback saved."
PICK_A_SOURCE = "Pick a source of the shown answer first."


class Update(TypedDict, total=False):
    """What changes on the page; a part not named stays as it is."""

    chat: list[Message]  # the messages shown, HTML
    history: list[Message]  # the conversation the assistant reads, plain text
    sources: str  # the sources panel, HTML
    box: str  # the question box
    selected: int | None  # the chat message whose sources the panel shows
    answers: Answers
    citations: list[str]  # the sources the shown answer's "wrong source" flag can name (none picked)
    thanks: str  # the line that thanks for feedback


def _reply(content: str) -> Message:
    return {"role": "assistant", "content": content}


def _notice(text: str) -> Message:
    return _reply(f'<div class="aqa-notice">{html.escape(text)}</div>')


def answer_record(answer: Answer, settings: Mapping[str, Any], signer: AnswerSigner | None = None) -> Record:
    """What the page keeps of a shown answer: its JSON (signed by ``signer``, so feedback on it is
    accepted) and the public ``settings`` with the mode and top_k the answer used."""
    shown = answer.model_dump(mode="json")
    used = settings_used(settings, shown)
    return {"answer": signer.signed(shown) if signer else shown, "settings": used}


def chat_turn(
    assistant: Assistant | None,
    message: str,
    chat: list[Message],
    history: list[Message],
    answers: Answers,
    *,
    mode: str | None = None,
    top_k: int | None = None,
    show_all: bool = False,
    settings: Mapping[str, Any] | None = None,
    signer: AnswerSigner | None = None,
) -> Iterator[Update]:
    """Answer ``message`` and say what the page shows meanwhile and after.

    Status and tokens update only the chat; the last update shows the answer with its sources,
    selects it, extends the history and keeps the answer's record. No assistant: how to add
    pages. An engine error (empty or too long question, unreadable store) or a bug: a notice in
    the chat and the question back in the box. ``settings``: the public settings in force.
    """
    chat = [*chat, {"role": "user", "content": html.escape(message)}]
    if assistant is None:
        yield {
            "chat": [*chat, _reply(html.escape(NO_INDEX))],
            "sources": sources_html(None),
            "box": "",
            "selected": None,
        }
        return
    streamed = ""
    answer: Answer | None = None
    try:
        for event in assistant.stream(message, history, cast("Mode | None", mode), top_k):  # the assistant checks it
            if isinstance(event, StatusEvent) and not streamed:
                yield {"chat": [*chat, _reply(f"<i>{html.escape(event.text)}</i>")]}
            elif isinstance(event, TokenEvent):
                streamed += event.text
                yield {"chat": [*chat, _reply(html.escape(streamed))]}
            elif isinstance(event, AnswerEvent):
                answer = event.answer
        if answer is None:
            raise RuntimeError("the answer stream ended without an answer")
    except AlignmentQAError as exc:
        yield {"chat": [*chat, _notice(str(exc))], "box": message}
        return
    except Exception as exc:  # a bug: a short message here, the trace in the log
        log.error("unexpected error answering in the chat page", exc_info=exc)
        notice = f"Something went wrong answering this ({type(exc).__name__}); it is in the server log."
        yield {"chat": [*chat, _notice(notice)], "box": message}
        return
    index = len(chat)
    yield {
        "chat": [*chat, _reply(answer_html(answer, key=str(index)))],
        "history": [*history, {"role": "user", "content": message}, {"role": "assistant", "content": answer.text}],
        "sources": sources_html(answer, show_all, key=str(index)),
        "box": "",
        "selected": index,
        "answers": {**answers, index: answer_record(answer, settings or {}, signer)},
    }


def record_of(answers: Answers, selected: int | None) -> Record | None:
    """The record of chat message ``selected``, if an answer is shown there."""
    return answers.get(selected) if selected is not None else None


def sources_panel(answers: Answers, selected: int | None, show_all: bool) -> str:
    """The sources panel for chat message ``selected`` (empty when it shows no answer)."""
    record = record_of(answers, selected)
    answer = Answer.model_validate(record["answer"]) if record else None
    return sources_html(answer, show_all, key=str(selected))


def citation_choices(answers: Answers, selected: int | None) -> list[str]:
    """The sources of chat message ``selected``'s answer, as the "wrong source" flag names them."""
    record = record_of(answers, selected)
    citations = record["answer"]["citations"] if record else []
    return [f"[{c['n']}] {c['title']}" for c in citations]


def select_message(answers: Answers, index: int, show_all: bool) -> Update:
    """Choosing chat message ``index``: an answer's sources fill the panel; a question or a notice changes nothing."""
    if index not in answers:
        return {}
    return {
        "sources": sources_panel(answers, index, show_all),
        "selected": index,
        "citations": citation_choices(answers, index),
    }


def new_conversation() -> Update:
    """Everything of the chat emptied."""
    return {
        "chat": [],
        "history": [],
        "sources": sources_html(None),
        "selected": None,
        "answers": {},
        "citations": [],
        "thanks": "",
    }


def like(feedback: FeedbackStore | None, answers: Answers, index: int, liked: object) -> str:
    """A thumb on chat message ``index``: recorded when it is an answer; undoing one (not a bool) records nothing."""
    record = answers.get(index)
    if feedback is None or record is None or not isinstance(liked, bool):
        return ""
    feedback.record("up" if liked else "down", record["answer"], record["settings"])
    return THANKS


def flag(feedback: FeedbackStore | None, answers: Answers, selected: int | None, choice: str | None) -> str:
    """Flag ``choice`` (as ``citation_choices`` names it) of the shown answer as the wrong source."""
    record = record_of(answers, selected)
    if feedback is None or record is None or not choice:
        return PICK_A_SOURCE
    number = int(choice.split("]", 1)[0].lstrip("["))
    feedback.record("wrong_source", record["answer"], record["settings"], citation=number)
    return f"Source [{number}] flagged as wrong: thanks."

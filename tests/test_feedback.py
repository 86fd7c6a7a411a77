"""Answer feedback in SQLite: thumbs, wrong-source flags, export as an evaluation set; only for
answers this server signed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment_qa.app.answer_ids import AnswerSigner
from alignment_qa.app.feedback import FeedbackStore, ForgedAnswerError, settings_used

SIGNER = AnswerSigner(b"k" * 64)
ANSWER = SIGNER.signed(
    {
        "question": "Is RLHF an inner alignment fix?",
        "text": "No [1].",
        "citations": [{"n": 1, "page_id": "wiki/a.txt"}, {"n": 2, "page_id": "textbook/b.md"}],
    }
)


def _store(path: Path) -> FeedbackStore:
    return FeedbackStore(path, SIGNER)


def test_records_and_export(tmp_path: Path) -> None:
    store = _store(tmp_path / "data" / "feedback.sqlite")
    assert store.record("up", ANSWER, {"answer": {"mode": "evidence"}}) == 1
    store.record("wrong_source", ANSWER, {}, citation=2, comment="not about RLHF")
    store.record("down", SIGNER.signed({**ANSWER, "question": "other"}), {})
    out = tmp_path / "feedback.jsonl"
    assert store.export_jsonl(out) == (3, 0)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["up", "wrong_source", "down"]
    assert lines[0]["gold_pages"] == ["wiki/a.txt"]  # the flagged source is not gold
    assert lines[0]["settings"] == {"answer": {"mode": "evidence"}} and lines[0]["answer"]["text"] == "No [1]."
    assert lines[1]["citation"] == 2 and lines[1]["comment"] == "not about RLHF"
    assert lines[2]["gold_pages"] == []


def test_a_flag_must_name_a_citation_of_the_answer(tmp_path: Path) -> None:
    store = _store(tmp_path / "f.sqlite")
    with pytest.raises(ValueError, match=r"no citation \[7\]"):
        store.record("wrong_source", ANSWER, {}, citation=7)
    assert list(store.rows()) == []


def test_export_with_no_feedback_yet(tmp_path: Path) -> None:
    out = tmp_path / "empty.jsonl"
    assert _store(tmp_path / "none.sqlite").export_jsonl(out) == (0, 0) and out.read_text() == ""


def test_a_flag_names_a_page_not_a_number(tmp_path: Path) -> None:
    """Two answers to one question number their sources differently: a flag on [2] of one
    answer must remove that page, not whatever is [2] in another answer."""
    store = _store(tmp_path / "f.sqlite")
    swapped = SIGNER.signed(
        {**ANSWER, "citations": [{"n": 1, "page_id": "textbook/b.md"}, {"n": 2, "page_id": "wiki/a.txt"}]}
    )
    store.record("wrong_source", swapped, {}, citation=1)  # flags textbook/b.md
    store.record("up", ANSWER, {})
    out = tmp_path / "f.jsonl"
    store.export_jsonl(out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[1]["gold_pages"] == ["wiki/a.txt"]


def test_forged_or_edited_answers_are_refused_and_never_exported(tmp_path: Path) -> None:
    store = _store(tmp_path / "f.sqlite")
    made_up = {"question": "q", "text": "PWNED [1].", "citations": [{"n": 1, "page_id": "evil.md"}]}
    for forged in (made_up, {**made_up, "answer_id": "0" * 64}, {**ANSWER, "text": "Yes [1]."}):
        with pytest.raises(ForgedAnswerError, match="not given by this server"):
            store.record("up", forged, {})
    assert list(store.rows()) == []
    # a row this server's key did not sign (another server's file, another key) is left out
    other = AnswerSigner(b"o" * 64)
    FeedbackStore(store.path, other).record("up", other.signed(made_up), {})
    store.record("up", ANSWER, {})
    out = tmp_path / "f.jsonl"
    assert store.export_jsonl(out) == (1, 1)
    assert "evil.md" not in out.read_text()


def test_the_answer_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = AnswerSigner.for_data_dir(tmp_path / "data")
    key = tmp_path / "data" / "answer-key"
    assert key.stat().st_mode & 0o777 == 0o600
    again = AnswerSigner.for_data_dir(tmp_path / "data")
    assert again.verify(first.signed(ANSWER)) and not AnswerSigner(b"x" * 64).verify(first.signed(ANSWER))


def test_settings_used_are_those_the_answer_carries() -> None:
    """The one helper the page and the API share: the mode that answered and the top_k the answer
    was written with win over the configured ones, and the configured settings are not changed."""
    configured = {"answer": {"mode": "llm", "history_turns": 2}, "retrieval": {"top_k": 5, "fusion": "rrf"}}
    used = settings_used(configured, {"mode": "evidence", "top_k": 3})
    assert used == {"answer": {"mode": "evidence", "history_turns": 2}, "retrieval": {"top_k": 3, "fusion": "rrf"}}
    assert configured["retrieval"]["top_k"] == 5 and configured["answer"]["mode"] == "llm"
    assert settings_used({}, {"mode": "evidence"}) == {"answer": {"mode": "evidence"}}  # an answer without top_k

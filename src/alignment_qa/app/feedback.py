"""Feedback on answers, kept in a local SQLite file: thumbs up/down and "wrong source" flags.

Each record keeps the question, the whole answer (text, citations, verdicts), which citation a
flag is about, and the settings in force, so an export (JSONL) can serve as an evaluation set.
Only answers this server gave are kept: each must carry the ``answer_id`` it was issued
(``answer_ids``), and an export leaves out any row whose answer does not verify. One connection
per call, so the web server's threads never share one. Collecting it in the UI is left to
``web``; the HTTP route to ``api``.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from alignment_qa.app.answer_ids import AnswerSigner
from alignment_qa.settings import Settings

Kind = Literal["up", "down", "wrong_source"]


def settings_used(settings: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a feedback record keeps for ``answer``: the public ``settings`` in force, with the
    mode that answered and the ``top_k`` it was written with (both carried, signed, by the answer)."""
    used = copy.deepcopy(dict(settings))
    used.setdefault("answer", {})["mode"] = answer.get("mode")
    if answer.get("top_k") is not None:
        used.setdefault("retrieval", {})["top_k"] = answer["top_k"]
    return used


_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('up', 'down', 'wrong_source')),
    question TEXT NOT NULL,
    citation INTEGER,
    comment TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    settings TEXT NOT NULL
)
"""


class ForgedAnswerError(ValueError):
    """Feedback about an answer this server did not give (no or a wrong ``answer_id``)."""


class FeedbackStore:
    """The feedback table in ``path`` (created on first use), for answers ``signer`` issued."""

    def __init__(self, path: Path, signer: AnswerSigner) -> None:
        self.path = path
        self.signer = signer

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        """The configured file: ``serve.feedback_db``, else feedback.sqlite under ``store.data_dir``."""
        signer = AnswerSigner.for_data_dir(settings.store.data_dir)
        return cls(settings.serve.feedback_db or settings.store.data_dir / "feedback.sqlite", signer)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute(_SCHEMA)
        return connection

    def record(
        self,
        kind: Kind,
        answer: dict[str, Any],
        settings: dict[str, Any],
        citation: int | None = None,
        comment: str = "",
    ) -> int:
        """Store one piece of feedback; returns its id. The answer must carry its ``answer_id``
        (``ForgedAnswerError`` otherwise) and a flag must name a citation of the answer."""
        if kind not in ("up", "down", "wrong_source"):
            raise ValueError(f"unknown feedback kind '{kind}'")
        if not self.signer.verify(answer):
            raise ForgedAnswerError(
                "this answer was not given by this server (its answer_id is missing or does not match); "
                "send the answer exactly as /api/ask returned it"
            )
        if kind == "wrong_source":
            numbers = {int(item["n"]) for item in answer.get("citations", [])}
            if citation not in numbers:
                raise ValueError(f"the answer has no citation [{citation}]")
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created, kind, question, citation, comment, answer, settings) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    kind,
                    str(answer.get("question", "")),
                    citation,
                    comment,
                    json.dumps(answer),
                    json.dumps(settings),
                ),
            )
            return int(cursor.lastrowid or 0)

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every record, oldest first, with answer and settings parsed."""
        if not self.path.exists():
            return
        with closing(self._connect()) as connection:
            connection.row_factory = sqlite3.Row
            for row in connection.execute("SELECT * FROM feedback ORDER BY id"):
                record = dict(row)
                record["answer"] = json.loads(record["answer"])
                record["settings"] = json.loads(record["settings"])
                yield record

    def export_jsonl(self, out: Path) -> tuple[int, int]:
        """Write every record as one JSON line; returns how many, and how many were left out
        because their answer does not verify (forged, or written by an older version). Each line
        also carries ``gold_pages`` for use as an eval set: for a thumbs-up, the pages of the
        answer's citations that no one flagged as a wrong source for that question (a flag names a
        page through its own answer's citation number); otherwise empty."""
        flagged: dict[str, set[str]] = {}
        every = list(self.rows())
        records = [record for record in every if self.signer.verify(record["answer"])]
        for record in records:
            if record["kind"] == "wrong_source":
                pages = {c["page_id"] for c in record["answer"].get("citations", []) if c["n"] == record["citation"]}
                flagged.setdefault(record["question"], set()).update(pages)
        with out.open("w", encoding="utf-8") as handle:
            for record in records:
                wrong = flagged.get(record["question"], set())
                citations = record["answer"].get("citations", [])
                good = (
                    {c["page_id"] for c in citations if c["page_id"] not in wrong} if record["kind"] == "up" else set()
                )
                record["gold_pages"] = sorted(good)
                handle.write(json.dumps(record) + "\n")
        return len(records), len(every) - len(records)

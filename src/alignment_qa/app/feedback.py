"""Feedback on answers, kept in a database: thumbs up/down and "wrong source" flags.

Each record keeps the question, the whole answer (text, citations, verdicts), which citation a
flag is about, and the settings in force, so an export (JSONL) can serve as an evaluation set.
Only answers this server gave are kept: each must carry the ``answer_id`` it was issued
(``answer_ids``), and an export leaves out any row whose answer does not verify. The database
is a local SQLite file by default, or PostgreSQL by URL (``serve.feedback_url``), which several
``serve`` replicas can share; its schema comes from named migrations (``MIGRATIONS``), each
applied once and recorded in ``schema_migrations``. One connection per call, so the web server's
threads never share one; pooling is left out. Collecting it in the UI is left to ``web``; the
HTTP route to ``api``.
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
from alignment_qa.errors import ConfigError
from alignment_qa.extras import require_extra
from alignment_qa.settings import Settings, masked_url

Kind = Literal["up", "down", "wrong_source"]


def settings_used(settings: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a feedback record keeps for ``answer``: the public ``settings`` in force, with the
    mode that answered and the ``top_k`` it was written with (both carried, signed, by the answer)."""
    used = copy.deepcopy(dict(settings))
    used.setdefault("answer", {})["mode"] = answer.get("mode")
    if answer.get("top_k") is not None:
        used.setdefault("retrieval", {})["top_k"] = answer["top_k"]
    return used


# (name, statement); append new ones, never edit or reorder applied ones. ``{serial}`` is the dialect's
# auto-numbered primary key, the one place where SQLite and PostgreSQL differ here.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "0001_feedback_table",
        """
CREATE TABLE IF NOT EXISTS feedback (
    id {serial},
    created TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('up', 'down', 'wrong_source')),
    question TEXT NOT NULL,
    citation INTEGER,
    comment TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    settings TEXT NOT NULL
)""",
    ),
    ("0002_feedback_created_index", "CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created)"),
)
_SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}
_COLUMNS = ("created", "kind", "question", "citation", "comment", "answer", "settings")
_MIGRATION_LOCK = 727_274  # PostgreSQL advisory lock id: one replica migrates, the others wait


class _Database:
    """One dialect's connections and statements: a SQLite file, or a PostgreSQL server by URL."""

    def __init__(self, location: Path | str) -> None:
        text = str(location)
        self.dialect = "postgresql" if text.startswith(("postgresql://", "postgres://")) else "sqlite"
        self.url = text if self.dialect == "postgresql" else ""
        self.path = None if self.url else Path(text.removeprefix("sqlite:///") if text.startswith("sqlite:") else text)
        self.marker = "%s" if self.dialect == "postgresql" else "?"
        self.migrated = False

    def describe(self) -> str:
        return masked_url(self.url) if self.url else str(self.path)

    def connect(self) -> Any:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return sqlite3.connect(self.path, timeout=10)
        require_extra("psycopg", "postgres", "serve.feedback_url = postgresql://...")
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot reach the feedback database {self.describe()}: {exc}") from exc

    def migrate(self, connection: Any) -> None:
        """Apply the migrations this database has not had yet, in order, in one transaction."""
        if self.migrated:
            return
        if self.dialect == "postgresql":
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        else:
            connection.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait for its lock
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)"
        )
        done = {row[0] for row in connection.execute("SELECT name FROM schema_migrations").fetchall()}
        for name, statement in MIGRATIONS:
            if name not in done:
                connection.execute(statement.format(serial=_SERIAL[self.dialect]))
                connection.execute(
                    f"INSERT INTO schema_migrations (name, applied) VALUES ({self.marker}, {self.marker})",
                    (name, datetime.now(UTC).isoformat(timespec="seconds")),
                )
        connection.commit()
        self.migrated = True


class ForgedAnswerError(ValueError):
    """Feedback about an answer this server did not give (no or a wrong ``answer_id``)."""


class FeedbackStore:
    """The feedback table at ``location`` (a SQLite path or ``sqlite:///`` URL, or a ``postgresql://``
    URL), created by the migrations on first use, for answers ``signer`` issued."""

    def __init__(self, location: Path | str, signer: AnswerSigner) -> None:
        self._db = _Database(location)
        self.path = self._db.path  # the SQLite file; None for PostgreSQL
        self.signer = signer

    @classmethod
    def for_settings(cls, settings: Settings) -> FeedbackStore:
        """The configured database: ``serve.feedback_url``, else the file ``serve.feedback_db``, else
        feedback.sqlite under ``store.data_dir``."""
        signer = AnswerSigner.for_data_dir(settings.store.data_dir)
        serve = settings.serve
        return cls(serve.feedback_url or serve.feedback_db or settings.store.data_dir / "feedback.sqlite", signer)

    def describe(self) -> str:
        """Where the feedback goes, for messages (a URL without its password)."""
        return self._db.describe()

    def _connect(self) -> Any:
        connection = self._db.connect()
        try:
            self._db.migrate(connection)
        except Exception:
            connection.close()
            raise
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
            if citation is None:
                raise ValueError('a wrong_source flag names the citation it disputes: give "citation": n')
            if citation not in numbers:
                raise ValueError(f"the answer has no citation [{citation}]")
        markers = ", ".join([self._db.marker] * len(_COLUMNS))
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                f"INSERT INTO feedback ({', '.join(_COLUMNS)}) VALUES ({markers}) RETURNING id",
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
            return int(cursor.fetchone()[0])

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every record, oldest first, with answer and settings parsed."""
        if self.path is not None and not self.path.exists():
            return
        with closing(self._connect()) as connection:
            cursor = connection.execute(f"SELECT id, {', '.join(_COLUMNS)} FROM feedback ORDER BY id")
            for row in cursor.fetchall():
                record = dict(zip(("id", *_COLUMNS), row, strict=True))
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

"""Feedback shared by several replicas in a real PostgreSQL server (Debian's postgresql, started here).

Two stores on one URL stand for two ``serve`` replicas: they migrate once between them, write
concurrently without losing a row, and each reads what the other wrote. Skipped, with the reason,
where PostgreSQL or the ``postgres`` extra is not installed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment_qa.app.answer_ids import AnswerSigner
from alignment_qa.app.feedback import MIGRATIONS, FeedbackStore, ForgedAnswerError
from alignment_qa.errors import ConfigError
from alignment_qa.settings import load_settings
from llm_servers import free_port
from postgres_server import find_bin, postgres_server

psycopg = pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
pytestmark = pytest.mark.skipif(find_bin() is None, reason="PostgreSQL is not installed (Debian package postgresql)")
SIGNER = AnswerSigner(b"k" * 32)


def _answer(question: str) -> dict[str, object]:
    made = {"question": question, "text": "An answer [1].", "citations": [{"n": 1, "page_id": "wiki/a.md"}]}
    return SIGNER.signed(made)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with postgres_server() as address:
        yield address


def test_two_replicas_share_one_feedback_database(url: str, tmp_path: Path) -> None:
    replicas = [FeedbackStore(url, SIGNER), FeedbackStore(url, SIGNER)]
    errors: list[BaseException] = []

    def write(store: FeedbackStore, worker: int) -> None:
        try:
            for n in range(5):
                store.record("up", _answer(f"question {worker}-{n}"), {"retrieval": {"top_k": 5}})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(replicas[i % 2], i)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    for store in replicas:  # each replica sees every row, whoever wrote it
        rows = list(store.rows())
        assert len(rows) == 40 and len({row["id"] for row in rows}) == 40
        assert rows[0]["settings"] == {"retrieval": {"top_k": 5}} and rows[0]["answer"]["citations"]
    flagged = replicas[1].record("wrong_source", _answer("question 0-0"), {}, citation=1)
    assert flagged > 40
    with pytest.raises(ForgedAnswerError):
        replicas[0].record("up", {"question": "made up", "text": "x"}, {})
    exported, left_out = replicas[0].export_jsonl(tmp_path / "feedback.jsonl")
    assert (exported, left_out) == (41, 0)
    lines = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text(encoding="utf-8").splitlines()]
    thumbs = {row["question"]: row["gold_pages"] for row in lines if row["kind"] == "up"}
    assert thumbs["question 0-0"] == []  # its source was flagged as wrong: no gold page left
    assert thumbs["question 1-0"] == ["wiki/a.md"]

    with psycopg.connect(url) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]  # each named migration applied once, by one replica


def test_the_setting_picks_postgres_and_a_dead_server_is_a_clear_error(url: str) -> None:
    loaded = load_settings(None, {"serve.feedback_url": url}).settings
    store = FeedbackStore.for_settings(loaded)
    assert store.path is None and store.describe() == url.replace("aqa@", "***@")  # the login masked
    dead = FeedbackStore(f"postgresql://aqa:secret@127.0.0.1:{free_port()}/feedback", SIGNER)
    with pytest.raises(ConfigError, match="cannot reach the feedback database") as caught:
        dead.record("up", _answer("q"), {})
    assert "secret" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"serve\.feedback_url: .*postgresql://"):
        load_settings(None, {"serve.feedback_url": "mysql://x"})

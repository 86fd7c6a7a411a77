"""Faults around a real `alignment-qa serve` process: the server killed with SIGKILL in the middle of
feedback writes, and the LLM server's process killed in the middle of a streamed answer. Each test
runs real processes on 127.0.0.1 with bounded waits. Elsewhere: kill -9 during ingest in
test_ingest.py, a dying llama.cpp server in-process in test_llm_backend.py, a `chroma run` server
restarted under the assistant in test_chroma_server.py; bench/fault_bench.py measures all of these
under load."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx

from alignment_qa.app.feedback import FeedbackStore
from alignment_qa.settings import StoreSettings, load_settings
from app_servers import ENV, start_serve, stop
from conftest import BuiltIndex, copy_index
from llm_servers import free_port

QUESTIONS = ["What is reward hacking?", "Is RLHF an inner alignment fix?", "What is Goodhart's law?"]


def feedback_on(answer: dict[str, Any], n: int) -> dict[str, Any]:
    """Feedback on an answer the server gave, sent back as it came (its answer id included)."""
    return {"kind": "up" if n % 2 else "down", "answer": answer, "comment": f"write {n}"}


def test_kill_9_during_feedback_writes_leaves_a_sound_database(tmp_path: Path, sample_index: BuiltIndex) -> None:
    """Writers post feedback as fast as they can; the server is killed with SIGKILL among them. The
    SQLite file passes integrity_check, every row parses, every acknowledged write is there, and the
    file takes new writes."""
    copy_index(sample_index, tmp_path)
    env = {**ENV, "ALIGNMENT_QA_SERVE__FEEDBACK_PER_MINUTE": "100000"}  # the rate limit is tested elsewhere
    process, url = start_serve(tmp_path, env)
    acknowledged: list[int] = []
    refused: list[str] = []
    stop_writing = threading.Event()
    try:
        answers = [httpx.post(f"{url}/api/ask", json={"question": q}, timeout=60).json() for q in QUESTIONS]

        def writer(first: int) -> None:
            with httpx.Client(timeout=20) as client:
                for n in range(first, 5000, 6):
                    if stop_writing.is_set():
                        return
                    try:
                        response = client.post(f"{url}/api/feedback", json=feedback_on(answers[n % 3], n))
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code != 200:
                        refused.append(f"{response.status_code} {response.text[:200]}")
                        return
                    acknowledged.append(int(response.json()["id"]))

        writers = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(6)]
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 40 and not refused and time.monotonic() < deadline:
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        stop_writing.set()
        for thread in writers:
            thread.join(timeout=30)
    finally:
        stop_writing.set()
        if process.poll() is None:
            stop(process)
    assert refused == []
    assert len(acknowledged) >= 40

    data_dir = tmp_path / StoreSettings().data_dir  # serve's default, under its working directory
    path = data_dir / "feedback.sqlite"
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [row[0] for row in connection.execute("SELECT id FROM feedback")]
        for answer, settings in connection.execute("SELECT answer, settings FROM feedback"):
            assert "text" in json.loads(answer) and isinstance(json.loads(settings), dict)
    assert set(acknowledged) <= set(ids)
    store = FeedbackStore.for_settings(load_settings(None, {"store.data_dir": str(data_dir)}).settings)
    assert store.path == path
    assert len(list(store.rows())) == len(ids)  # the product's own reader agrees
    assert store.record("up", answers[0], {}) > max(ids)  # and the file takes writes again


@contextmanager
def scripted_llm() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """tests/scripted_llm.py in its own process; yields it and its base URL once it answers."""
    port = free_port()
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("scripted_llm.py")), str(port)])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/models", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None, "the scripted LLM did not start"
                time.sleep(0.1)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def stream_events(url: str, payload: dict[str, Any], on_token: Any = None) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of POST /api/ask/stream; ``on_token`` runs at each token event."""
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream("POST", f"{url}/api/ask/stream", json=payload, timeout=120) as response:
        assert response.status_code == 200
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if name == "token" and on_token is not None:
                    on_token()
    return events


def test_llm_server_killed_mid_stream_falls_back_over_http(tmp_path: Path, sample_index: BuiltIndex) -> None:
    """The LLM server's process is killed with SIGKILL after the first token `serve` streamed: the
    stream still ends with an answer event, quoted evidence with the notice, and `serve` answers the
    next question too. (A real llama.cpp server dying in-process: test_llm_backend.py.)"""
    copy_index(sample_index, tmp_path)
    with scripted_llm() as (llm, llm_url):
        env = {**ENV, "ALIGNMENT_QA_LLM__BASE_URL": llm_url, "ALIGNMENT_QA_LLM__TIMEOUT_S": "10"}
        process, url = start_serve(tmp_path, env)
        try:

            def kill_llm() -> None:
                if llm.poll() is None:
                    llm.send_signal(signal.SIGKILL)
                    llm.wait(timeout=10)

            events = stream_events(url, {"question": QUESTIONS[1], "mode": "llm"}, kill_llm)
            names = [name for name, _ in events]
            assert names.count("token") >= 1 and llm.poll() is not None  # killed while it was writing
            assert names.count("token") < 20  # the answer did not come from the rest of its stream
            assert names[-1] == "answer" and "error" not in names
            answer = events[-1][1]
            assert answer["mode"] == "evidence"
            assert "language model failed" in answer["notice"]
            assert answer["citations"] and all(sentence["supported"] for sentence in answer["sentences"])

            again = httpx.post(f"{url}/api/ask", json={"question": QUESTIONS[0], "mode": "llm"}, timeout=60)
            assert again.status_code == 200 and again.json()["mode"] == "evidence"
            assert "language model failed" in again.json()["notice"]
        finally:
            stop(process)

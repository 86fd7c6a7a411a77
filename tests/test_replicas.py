"""Many users, several replicas: two real `alignment-qa serve` processes share one `chroma run` server
while a third process ingests a changed corpus and 50 clients, spread over both replicas, keep asking.
No request may fail, and one refresh interval after the ingest both replicas answer from the new page.
Every loop is bounded in count and time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from alignment_qa.index.embedder import Embedder
from app_servers import start_serve, stop
from chroma_servers import ChromaServer
from test_cross_process import (
    NEW_PAGE,
    QUESTIONS,
    REFRESH_S,
    change_corpus,
    env_for,
    first_ingest,
    http_asker,
    ingest_in_another_process,
    make_corpus,
    overrides,
)

CLIENTS = 50
PER_CLIENT = 3  # requests each client makes at most while the ingest runs
DEADLINE_S = 240

pytestmark = pytest.mark.slow


def test_two_replicas_on_one_chroma_server_serve_50_clients_through_an_ingest(
    tmp_path: Path, embedder: Embedder
) -> None:
    server = ChromaServer(tmp_path / "chroma").start()
    replicas = []
    try:
        corpus = make_corpus(tmp_path)
        values = overrides(tmp_path, server.url)
        first_ingest(tmp_path, corpus, values, embedder)
        env = env_for(values)
        for name in ("replica-a", "replica-b"):
            (tmp_path / name).mkdir()
            replicas.append(start_serve(tmp_path / name, env))
        askers = [http_asker(url) for _, url in replicas]
        for ask in askers:
            assert NEW_PAGE not in ask("What is quuxing?")[0]

        change_corpus(corpus)
        ingest = ingest_in_another_process(corpus, env, tmp_path)
        errors: list[str] = []
        answered = [0] * CLIENTS
        stop_at = time.monotonic() + DEADLINE_S

        def client(index: int) -> None:
            ask = askers[index % 2]
            for turn in range(PER_CLIENT):
                if (ingest.poll() is not None and turn > 0) or time.monotonic() > stop_at:
                    return
                question = QUESTIONS[(index + turn) % len(QUESTIONS)]
                try:
                    ask(question)
                    answered[index] += 1
                except Exception as exc:
                    errors.append(f"client {index}, replica {index % 2}, {question!r}: {exc}")

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, stop_at - time.monotonic()))
        output = ingest.communicate(timeout=120)[0]
        assert ingest.returncode == 0, output
        assert not any(thread.is_alive() for thread in threads), "clients still waiting at the deadline"
        assert errors == []
        assert sum(answered) >= CLIENTS  # every client was answered at least once

        time.sleep(REFRESH_S)  # one refresh interval after the ingest ended
        for replica, ask in enumerate(askers):
            cited, _ = ask("What is quuxing?")
            assert NEW_PAGE in cited, f"replica {replica} does not answer from the new page yet: {cited}"
    finally:
        for process, _ in replicas:
            stop(process)
        server.stop()

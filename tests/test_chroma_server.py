"""Ingest and search against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alignment_qa.app.api import AssistantSlot, create_api
from alignment_qa.engine.assistant import Assistant
from alignment_qa.errors import StoreUnavailableError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import load_settings
from chroma_servers import ChromaServer
from conftest import SAMPLE_CORPUS
from llm_servers import free_port


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    server = ChromaServer(tmp_path / "server-data").start()
    try:
        yield server.url
    finally:
        server.stop()


def test_ingest_and_search_on_a_chroma_server(tmp_path: Path, chroma_server: str, embedder: Embedder) -> None:
    settings = load_settings(
        None, {"store.chroma_url": chroma_server, "store.data_dir": str(tmp_path / "local")}
    ).settings
    store = ChunkStore(settings.store)
    summary = ingest([SAMPLE_CORPUS], settings, embedder, store)
    assert len(summary.added) == 7
    # in server mode only what is derived is kept locally, as a cache: the keyword index and the page states
    assert sorted(path.name for path in (tmp_path / "local").iterdir()) == ["keyword", "page-states"]
    again = ingest([SAMPLE_CORPUS], settings, embedder, ChunkStore(settings.store))
    assert again.chunks_written == 0 and len(again.unchanged) == 7
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    hits = collection.search_many([embedder.encode(["boat racing agent circling bonus targets"])[0]], 3)[0]
    assert hits[0].metadata["page_id"] == "wiki/reward-hacking.md"
    assert collection.info()["pages"] == 7

    shutil.rmtree(tmp_path / "local")  # another host, same server: the keyword cache is rebuilt
    answer = Assistant.open(settings, embedder=embedder).ask("Is RLHF an inner alignment fix?")
    assert answer.citations and answer.citations[0].page_id in {"wiki/outer-vs-inner-alignment.txt", "textbook/rlhf.md"}
    assert any(passage.keyword_score for passage in answer.retrieved)


def test_unreachable_server_is_a_clear_error() -> None:
    settings = load_settings(None, {"store.chroma_url": f"http://127.0.0.1:{free_port()}"}).settings
    with pytest.raises(StoreUnavailableError, match="cannot open the Chroma store"):
        ChunkStore(settings.store).exists()


def test_a_restarted_server_is_a_503_while_down_then_answers_resume(tmp_path: Path, embedder: Embedder) -> None:
    """`chroma run` stopped under a running assistant: a clear error (503 on the API) while it is down,
    then the same assistant answers again once it is back, without restarting anything."""
    server = ChromaServer(tmp_path / "server-data").start()
    try:
        values = {"store.chroma_url": server.url, "store.data_dir": str(tmp_path / "local"), "answer.mode": "evidence"}
        settings = load_settings(None, values).settings
        with ChunkStore(settings.store) as store:
            ingest([SAMPLE_CORPUS], settings, embedder, store)
        assistant = Assistant.open(settings, embedder=embedder)
        api = TestClient(create_api(AssistantSlot(assistant)), base_url="http://127.0.0.1")
        question = {"question": "What is reward hacking?", "mode": "evidence"}
        assert assistant.ask(question["question"]).citations

        server.stop()
        for _ in range(2):  # not only the first call: every call while it is down
            with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{server.port}"):
                assistant.ask(question["question"])
            response = api.post("/api/ask", json=question)
            assert response.status_code == 503
            assert f"127.0.0.1:{server.port}" in response.json()["detail"]

        server.start()
        answer = assistant.ask(question["question"])
        assert answer.citations and answer.citations[0].page_id == "wiki/reward-hacking.md"
        response = api.post("/api/ask", json=question)
        assert response.status_code == 200 and response.json()["citations"]
    finally:
        server.stop()

"""Ingest and search against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.errors import StoreUnavailableError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.settings import load_settings
from conftest import SAMPLE_CORPUS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    process = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):  # at most ~30 s
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start within 30 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_ingest_and_search_on_a_chroma_server(tmp_path: Path, chroma_server: str, embedder: Embedder) -> None:
    settings = load_settings(
        None, {"store.chroma_url": chroma_server, "store.data_dir": str(tmp_path / "local")}
    ).settings
    store = ChunkStore(settings.store)
    summary = ingest([SAMPLE_CORPUS], settings, embedder, store)
    assert len(summary.added) == 7
    # in server mode only the derived keyword index (BM25 + aliases) is kept locally, as a cache
    assert [path.name for path in (tmp_path / "local").iterdir()] == ["keyword"]
    again = ingest([SAMPLE_CORPUS], settings, embedder, ChunkStore(settings.store))
    assert again.chunks_written == 0 and len(again.unchanged) == 7
    collection = store.collection(settings.embedding.model)
    assert collection is not None
    hits = store.search(collection, embedder.encode(["boat racing agent circling bonus targets"])[0], 3)
    assert hits[0].metadata["page_id"] == "wiki/reward-hacking.md"
    assert store.info(collection)["pages"] == 7

    shutil.rmtree(tmp_path / "local")  # another host, same server: the keyword cache is rebuilt
    answer = Assistant.open(settings, embedder=embedder).ask("Is RLHF an inner alignment fix?")
    assert answer.citations and answer.citations[0].page_id in {"wiki/outer-vs-inner-alignment.txt", "textbook/rlhf.md"}
    assert any(passage.keyword_score for passage in answer.retrieved)


def test_unreachable_server_is_a_clear_error() -> None:
    settings = load_settings(None, {"store.chroma_url": f"http://127.0.0.1:{_free_port()}"}).settings
    with pytest.raises(StoreUnavailableError, match="cannot open the Chroma store"):
        ChunkStore(settings.store).exists()

"""Integration over the real development corpus in ../shared/corpus (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store import ChunkStore
from alignment_qa.ingest.pipeline import ingest
from conftest import BuiltIndex


def test_whole_dev_corpus(shared_corpus: Path, dev_index: BuiltIndex, embedder: Embedder) -> None:
    summary, settings = dev_index.summary, dev_index.settings
    store = ChunkStore(settings.store)
    assert summary.skipped == []
    assert len(summary.added) == 73
    collection = store.collection(settings.embedding.identity)
    assert collection is not None
    hits = collection.search_many([embedder.encode(["behavioral cloning"])[0]], 5)[0]
    assert hits[0].metadata["page_id"] == "atlas/06/04.md"
    for hit in collection.read_chunks():
        meta, text = hit.metadata, hit.text
        assert int(meta["tokens"]) + embedder.special_tokens <= embedder.max_tokens
        assert text and "<div" not in text and "{: #" not in text
    again = ingest([shared_corpus], settings, embedder, store)  # unchanged: the index stays as it was
    assert again.chunks_written == 0 and len(again.unchanged) == 73

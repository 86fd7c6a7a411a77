"""Sentence vectors stored at ingest (real Chroma, real model): pooled from their chunk's model pass, written for
every quotable sentence, read at question time instead of computed, completed for pages that lack them, kept
for unchanged chunks, removed with pages."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_qa.engine.assistant import Assistant
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.sentence_shards import SHARDS, SentenceShards, shard_name, shard_of, unsharded_name
from alignment_qa.index.store import ChunkStore
from alignment_qa.index.store_api import ChunkCollection, StoredChunk
from alignment_qa.index.vector_cache import SentenceVectors, sentence_key, sentence_record_id
from alignment_qa.ingest.chunk import vector_sentence_spans
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.ingest.sentence_vectors import ChunkText, embed_chunks
from alignment_qa.settings import Settings, load_settings
from conftest import SAMPLE_CORPUS


class CountingEmbedder:
    """The real embedder, remembering every text it was asked to encode, alone or with spans."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.encoded: list[str] = []
        self.with_spans: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        self.encoded.extend(texts)
        return self.inner.encode(texts, **kwargs)

    def encode_spans(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> tuple[np.ndarray, list[np.ndarray]]:
        self.with_spans.extend(texts)
        return self.inner.encode_spans(texts, *args, **kwargs)


def _any_shard(store: ChunkStore, settings: Settings) -> bool:
    return any(store.exists(shard_name(settings.store.collection, shard)) for shard in range(SHARDS))


def _sentences(store: ChunkStore, settings: Settings) -> SentenceShards:
    assert _any_shard(store, settings), "ingest wrote no sentence vectors"
    return SentenceShards(store, settings.embedding.identity, settings.store.collection)


def _shard(store: ChunkStore, settings: Settings, page_id: str) -> ChunkCollection:
    """The collection that holds the sentence vectors of ``page_id``."""
    found = store.collection(settings.embedding.identity, shard_name(settings.store.collection, shard_of(page_id)))
    assert found is not None, f"no sentence vectors for {page_id}"
    return found


def _with(settings: Settings, **ingest_settings: Any) -> Settings:
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=ingest_settings)})


def _quotable(text: str) -> list[str]:
    return [text[start:end] for start, end in vector_sentence_spans(text)]


def test_ingest_pools_every_quotable_sentence_from_its_chunk_and_answers_read_them(
    settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    counting = CountingEmbedder(embedder)
    summary = ingest([SAMPLE_CORPUS], settings, counting, store)  # type: ignore[arg-type]
    assert summary.sentence_pages == len(summary.added) and summary.sentences_embedded > 50
    chunks = store.collection(settings.embedding.identity)
    assert chunks is not None
    hits = list(chunks.read_chunks())
    assert len(counting.with_spans) == len(hits) and not counting.encoded, "one model pass per chunk, none per sentence"

    stored = _sentences(store, settings)
    sample = hits[:: max(1, len(hits) // 8)]
    expected: dict[str, np.ndarray] = {}
    for hit in sample:  # the sentence's tokens in its chunk's context, title and section line included
        pooled_here = embed_chunks(embedder, [ChunkText(str(hit.metadata["prefix"]), hit.text)])[1]
        page = str(hit.metadata["page_id"])
        expected.update((sentence_record_id(page, key), vector) for key, vector in pooled_here.items())
    found = stored.vectors(list(expected))
    assert set(found) == set(expected)
    for record_id, vector in expected.items():
        assert float(found[record_id] @ vector) > 0.9999, "a stored vector is not its sentence's vector in its chunk"
    placed = [(str(hit.metadata["page_id"]), sentence) for hit in hits for sentence in _quotable(hit.text)]
    sentences = [sentence for _, sentence in placed]
    first = placed[:20]
    in_context = stored.vectors([sentence_record_id(page, sentence_key(sentence)) for page, sentence in first])
    pooled = np.stack([in_context[sentence_record_id(page, sentence_key(sentence))] for page, sentence in first])
    cosines = np.sum(pooled * embedder.encode([sentence for _, sentence in first]), axis=1)
    assert 0.5 < cosines.mean() < 0.99, "in context, a sentence's vector moves, but keeps its meaning"

    counting = CountingEmbedder(embedder)
    assistant = Assistant.open(settings, embedder=counting, store=store)  # type: ignore[arg-type]
    counting.encoded.clear()
    answer = assistant.ask("Why is reward hacking a problem for reinforcement learning?", mode="evidence")
    assert answer.covered and answer.citations
    quoted = [text for text in counting.encoded if text in set(sentences)]
    assert not quoted, f"answering embedded {len(quoted)} passage sentences instead of reading them"


def test_sentence_vectors_are_completed_kept_for_unchanged_chunks_and_removed_with_their_pages(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    without = ingest([corpus], _with(settings, sentence_vectors=False), embedder, store)
    assert without.sentence_pages == 0
    assert not _any_shard(store, settings)

    completed = ingest([corpus], settings, embedder, store)  # an index built without them gets them
    assert completed.chunks_embedded == 0 and completed.sentence_pages == len(without.added)
    again = ingest([corpus], settings, embedder, store)
    assert again.sentence_pages == 0 and again.sentences_embedded == 0

    page = corpus / "wiki" / "reward-hacking.md"
    page.write_text(
        page.read_text(encoding="utf-8") + "\n\n## Closing\n\nA brand new closing sentence about proxies.\n"
    )
    counting = CountingEmbedder(embedder)
    changed = ingest([corpus], settings, counting, store)  # type: ignore[arg-type]
    assert changed.updated == ["wiki/reward-hacking.md"] and changed.sentence_pages == 1
    assert changed.chunks_embedded == 1 and len(counting.with_spans) == 1 and not counting.encoded
    assert changed.sentences_embedded == 1, "the sentences of unchanged chunks must keep their vectors"
    stored = _shard(store, settings, "wiki/reward-hacking.md")
    keys = [str(meta["sentence"]) for _, meta in stored.page_chunks("wiki/reward-hacking.md")]
    assert sentence_key("A brand new closing sentence about proxies.") in keys
    assert len(keys) == len(set(keys)) > 5

    page.unlink()
    ingest([corpus], settings, embedder, store)
    assert stored.page_chunks("wiki/reward-hacking.md") == []


def test_rebuild_drops_the_sentence_vectors_too(tmp_path: Path, embedder: Embedder) -> None:
    settings = load_settings(None, {"store.data_dir": str(tmp_path / "data")}).settings
    with ChunkStore(settings.store) as store:
        ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store)
        assert store.collection(settings.embedding.identity).holds_chunks()  # type: ignore[union-attr]
        assert not _shard(store, settings, "reward-hacking.md").holds_chunks()
        ingest([SAMPLE_CORPUS / "textbook"], settings, embedder, store, rebuild=True)
        gone = store.collection(
            settings.embedding.identity, shard_name(settings.store.collection, shard_of("reward-hacking.md"))
        )
        assert gone is None or gone.page_chunks("reward-hacking.md") == []  # page ids are relative to the folder given
        assert _shard(store, settings, "rlhf.md").page_chunks("rlhf.md")


def test_a_failing_store_costs_speed_not_vectors(embedder: Embedder) -> None:
    def broken(keys: Sequence[str]) -> dict[str, np.ndarray]:
        raise ConnectionError("the store is down")

    lookup: Callable[[Sequence[str]], dict[str, np.ndarray]] = broken
    vectors = SentenceVectors(embedder, stored=lookup)
    text = "Reward hacking exploits a misspecified objective."
    assert np.allclose(vectors.encode([text], ["wiki/reward-hacking.md"]), embedder.encode([text]), atol=1e-5)


@pytest.mark.parametrize(
    "text", ["- A list item that is long enough to quote.", "3. A numbered item that is long enough."]
)
def test_list_items_are_stored_without_their_marks(text: str) -> None:
    assert _quotable(text) == [text.split(" ", 1)[1]]


def test_a_stored_vector_is_preferred_to_one_embedded_alone(embedder: Embedder) -> None:
    """Until a sentence's pooled vector is stored, it is embedded on its own and cached by its text; once stored,
    the stored one is read (cached by its record id), while callers that name no page keep the one embedded alone."""
    stored: dict[str, np.ndarray] = {}
    vectors = SentenceVectors(embedder, stored=lambda ids: {i: stored[i] for i in ids if i in stored})
    text = "Reward hacking exploits a misspecified objective."
    alone = vectors.encode([text], ["wiki/reward-hacking.md"])
    assert np.allclose(alone, embedder.encode([text]), atol=1e-5)
    pooled = np.eye(embedder.dimension, dtype=np.float32)[:1]
    stored[sentence_record_id("wiki/reward-hacking.md", sentence_key(text))] = pooled[0]
    assert np.allclose(vectors.encode([text], ["wiki/reward-hacking.md"]), pooled)
    assert np.allclose(vectors.encode([text]), alone, atol=1e-5)
    assert np.allclose(vectors.encode([text], ["another-page.md"]), alone, atol=1e-5)  # stored for another page only
    del stored[sentence_record_id("wiki/reward-hacking.md", sentence_key(text))]  # the index changed
    assert np.allclose(vectors.encode([text], ["wiki/reward-hacking.md"]), pooled)  # still cached
    vectors.forget_stored()
    assert np.allclose(vectors.encode([text], ["wiki/reward-hacking.md"]), alone, atol=1e-5)


def test_a_read_that_overlaps_an_index_change_is_not_cached(embedder: Embedder) -> None:
    """A stored vector read from the index before a change must not enter the cache after ``forget_stored``."""
    text = "Reward hacking exploits a misspecified objective."
    record = sentence_record_id("wiki/reward-hacking.md", sentence_key(text))
    old = np.eye(embedder.dimension, dtype=np.float32)[:1]
    reads: list[str] = []

    def stored_while_the_index_changes(ids: Sequence[str]) -> dict[str, np.ndarray]:
        reads.extend(ids)
        vectors.forget_stored()  # another thread moves the engine to the new index meanwhile
        return {record: old[0]}

    vectors = SentenceVectors(embedder, stored=stored_while_the_index_changes)
    assert np.allclose(vectors.encode([text], ["wiki/reward-hacking.md"]), old)  # this answer may use it
    vectors.encode([text], ["wiki/reward-hacking.md"])
    assert reads == [record, record], "the overlapping read was cached"


def test_a_page_is_stored_in_one_shard_and_an_earlier_single_collection_is_moved_into_the_shards(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """Each page's sentence vectors live in the one shard its id hashes to (a one-page ingest touches no other);
    an index written by an earlier version, every vector in ``<collection>-sentence-vectors``, gets them moved
    by the next ingest, nothing embedded again, and the old collection dropped."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    ingest([corpus], settings, embedder, store)
    shards = _sentences(store, settings)
    chunks = store.collection(settings.embedding.identity)
    assert chunks is not None
    pages = sorted(chunks.page_states())
    used = {shard_of(page) for page in pages}
    assert len(used) > 1
    for shard in range(SHARDS):
        collection = store.collection(settings.embedding.identity, shard_name(settings.store.collection, shard))
        held = {str(meta["page_id"]) for meta, _ in collection.page_vectors(pages)} if collection else set()
        assert held == {page for page in pages if shard_of(page) == shard}

    # the layout of an earlier version: one collection with every record
    ids, records, vectors = [], [], []
    for page in pages:
        for meta, vector in _shard(store, settings, page).page_vectors([page]):
            ids.append(sentence_record_id(page, str(meta["sentence"])))
            records.append(StoredChunk(ids[-1], "", dict(meta)))
            vectors.append(vector)
    shards.drop()
    old = store.create(
        settings.embedding.identity, embedder.dimension, unsharded_name(settings.store.collection), False
    )
    old.write_pages([], records, np.stack(vectors))

    counting = CountingEmbedder(embedder)
    before = chunks.revision()
    again = ingest([corpus], settings, counting, store)  # type: ignore[arg-type]
    assert again.unchanged == pages and not counting.with_spans and not counting.encoded
    assert not store.exists(unsharded_name(settings.store.collection))
    assert chunks.revision() != before, "a running server must notice the move and look for the shards again"
    moved = SentenceShards(store, settings.embedding.identity, settings.store.collection).vectors(ids)
    assert set(moved) == set(ids)
    assert all(np.allclose(moved[record_id], vector) for record_id, vector in zip(ids, vectors, strict=True))


def test_a_collection_of_another_kind_under_the_old_name_is_left_alone(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """``<collection>-sentence-vectors`` built with another model is not an earlier version's sentence vectors:
    ingest neither moves nor drops it, and does not fail."""
    other = store.create("another/model", embedder.dimension, unsharded_name(settings.store.collection), False)
    other.write_pages([], [StoredChunk("x#s-1", "", {"page_id": "x", "sentence": "1"})], embedder.encode(["a b c"]))
    assert ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store).added
    assert ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store).unchanged
    assert store.exists(unsharded_name(settings.store.collection))

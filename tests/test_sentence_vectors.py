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
from alignment_qa.index.sentence_pages import SentencePages, former_names, pages_name, unpack
from alignment_qa.index.store import ChunkStore
from alignment_qa.index.store_api import StoredChunk
from alignment_qa.index.vector_cache import SentenceVectors, sentence_key, sentence_record_id
from alignment_qa.ingest.chunk import vector_sentence_spans
from alignment_qa.ingest.pipeline import ingest
from alignment_qa.ingest.sentence_vectors import ChunkText, embed_chunks
from alignment_qa.settings import Settings, load_settings
from conftest import SAMPLE_CORPUS

LISTINGS = 4  # collection listings an unchanged ingest may make (19 when each earlier layout was looked up alone)


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


def _any_stored(store: ChunkStore, settings: Settings) -> bool:
    return store.exists(pages_name(settings.store.collection))


def _sentences(store: ChunkStore, settings: Settings) -> SentencePages:
    assert _any_stored(store, settings), "ingest wrote no sentence vectors"
    return SentencePages(store, settings.embedding.identity, settings.store.collection)


def _stored_keys(store: ChunkStore, settings: Settings, page_id: str) -> list[str]:
    """The keys of the sentence vectors stored for ``page_id``, as packed in its record."""
    packed = store.collection(settings.embedding.identity, pages_name(settings.store.collection))
    assert packed is not None, "no sentence vectors stored"
    record = packed.get_chunks([page_id]).get(page_id)
    return list(unpack(record.metadata)) if record is not None else []


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
    assert not _any_stored(store, settings)

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
    keys = _stored_keys(store, settings, "wiki/reward-hacking.md")
    assert sentence_key("A brand new closing sentence about proxies.") in keys
    assert len(keys) == len(set(keys)) > 5

    page.unlink()
    ingest([corpus], settings, embedder, store)
    assert _stored_keys(store, settings, "wiki/reward-hacking.md") == []


def test_rebuild_drops_the_sentence_vectors_too(tmp_path: Path, embedder: Embedder) -> None:
    settings = load_settings(None, {"store.data_dir": str(tmp_path / "data")}).settings
    with ChunkStore(settings.store) as store:
        ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store)
        assert store.collection(settings.embedding.identity).holds_chunks()  # type: ignore[union-attr]
        assert _stored_keys(store, settings, "reward-hacking.md")
        ingest([SAMPLE_CORPUS / "textbook"], settings, embedder, store, rebuild=True)
        assert _stored_keys(store, settings, "reward-hacking.md") == []  # page ids are relative to the folder given
        assert _stored_keys(store, settings, "rlhf.md")


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


def test_a_page_is_one_record_and_earlier_layouts_are_packed_by_the_next_ingest(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each page's sentence vectors are one record, whatever the page's size; an index written by an earlier
    version (a record per sentence, in ``<collection>-sentence-vectors`` or in its 16 shards ``-NN``) gets them
    packed by the next ingest, nothing embedded again, the old collections dropped and the revision changed.
    Looking for those layouts takes one listing of the collections, not one per name (17 of them)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    ingest([corpus], settings, embedder, store)
    chunks = store.collection(settings.embedding.identity)
    packed = store.collection(settings.embedding.identity, pages_name(settings.store.collection))
    assert chunks is not None and packed is not None
    pages = sorted(chunks.page_states())
    assert packed.count() == len(pages) and set(packed.get_chunks(pages)) == set(pages)

    # the layouts of earlier versions: a record per sentence, some pages in one collection, the rest in shards
    sentences = _sentences(store, settings)
    ids = [sentence_record_id(page, key) for page in pages for key in _stored_keys(store, settings, page)]
    vectors = sentences.vectors(ids)
    assert set(vectors) == set(ids)
    single, *shards = former_names(settings.store.collection)
    for name, part in ((single, pages[::2]), (shards[3], pages[1::2])):
        old = store.create(settings.embedding.identity, embedder.dimension, name, False)
        chosen = [record_id for record_id in ids if record_id.rpartition("#s-")[0] in part]
        records = [
            StoredChunk(record_id, "", {"page_id": record_id.rpartition("#s-")[0], "sentence": record_id[-32:]})
            for record_id in chosen
        ]
        old.write_pages([], records, np.stack([vectors[record_id] for record_id in chosen]))
    sentences.drop()

    counting = CountingEmbedder(embedder)
    before = chunks.revision()
    again = ingest([corpus], settings, counting, store)  # type: ignore[arg-type]
    assert again.unchanged == pages and not counting.with_spans and not counting.encoded
    assert not store.exists(single) and not store.exists(shards[3])
    assert chunks.revision() != before, "a running server must notice the move and read the packed vectors"
    moved = SentencePages(store, settings.embedding.identity, settings.store.collection).vectors(ids)
    assert set(moved) == set(ids)
    assert all(np.allclose(moved[record_id], vectors[record_id], atol=1e-3) for record_id in ids)

    listings = []
    listing = store.names
    monkeypatch.setattr(store, "names", lambda: listings.append(1) or listing())
    assert ingest([corpus], settings, embedder, store).unchanged == pages
    assert len(listings) <= LISTINGS, f"{len(listings)} listings of the collections for an unchanged ingest"


def test_a_collection_of_another_kind_under_the_old_name_is_left_alone(
    tmp_path: Path, settings: Settings, store: ChunkStore, embedder: Embedder
) -> None:
    """``<collection>-sentence-vectors`` built with another model is not an earlier version's sentence vectors:
    ingest neither moves nor drops it, and does not fail."""
    single = former_names(settings.store.collection)[0]
    other = store.create("another/model", embedder.dimension, single, False)
    other.write_pages([], [StoredChunk("x#s-1", "", {"page_id": "x", "sentence": "1"})], embedder.encode(["a b c"]))
    assert ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store).added
    assert ingest([SAMPLE_CORPUS / "wiki"], settings, embedder, store).unchanged
    assert store.exists(single)

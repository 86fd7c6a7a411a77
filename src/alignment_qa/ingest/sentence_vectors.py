"""Sentence vectors at ingest: store a vector for every sentence of a page that could be quoted.

Evidence answers score each sentence of the retrieved passages by its own vector. Stored here once, those
vectors are read at question time instead of computed (``index.vector_cache``). A sentence's vector comes from
the same model pass that embeds its chunk ("late chunking"): the mean of the sentence's token states in the
context of its chunk, title and section included (``Embedder.encode_spans``), so storing them costs no model
time beyond the chunks'. Each distinct sentence of a page is a record whose id is made of the page id and a hash of
the text (so it is read by id); a page's records are stored packed together (``index.sentence_pages``). The
sentences of a chunk that was embedded again get fresh vectors; those of a chunk kept as it was (an unchanged
chunk of a changed page) keep their stored vectors; a chunk whose sentences have none (an index built with
``ingest.sentence_vectors`` off or by an earlier version, an interrupted run) is run through the model again. A
page's chunks are flagged once its sentences are written, so an interrupted run is completed by the next ingest.
Which sentences are quoted is left to ``engine.evidence``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alignment_qa.index.embedder import Embedder
from alignment_qa.index.sentence_pages import SentencePages
from alignment_qa.index.store_api import SENTENCES_FLAG, ChunkCollection, StoredChunk
from alignment_qa.index.vector_cache import KEY_FIELD as KEY
from alignment_qa.index.vector_cache import sentence_key, sentence_record_id
from alignment_qa.ingest.chunk import vector_sentence_spans

LOOKUP_BATCH = 500  # ids per "which of these are stored" query


@dataclass(frozen=True)
class ChunkText:
    """A chunk as the model reads it: its context line (title and section) and its text."""

    prefix: str
    text: str


@dataclass(frozen=True)
class PageText:
    """What the sentence records of one page are made from."""

    page_id: str
    chunks: Sequence[ChunkText]


def sentence_records(page: PageText) -> list[StoredChunk]:
    """One record per distinct quotable sentence of ``page``: its page and key, no text (its chunk has it, and
    records with text cost Chroma a full-text index)."""
    keys = dict.fromkeys(
        sentence_key(chunk.text[start:end]) for chunk in page.chunks for start, end in vector_sentence_spans(chunk.text)
    )
    return [
        StoredChunk(id=sentence_record_id(page.page_id, key), text="", metadata={"page_id": page.page_id, KEY: key})
        for key in keys
    ]


def embed_chunks(
    embedder: Embedder,
    chunks: Sequence[ChunkText],
    on_batch: Callable[[int], None] | None = None,
    lengths: Sequence[int] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The vectors of ``chunks`` (as ``embedder.encode`` gives them) and, from the same pass, the vector of
    each quotable sentence in them by its key (the first chunk holding a sentence wins); a sentence the model
    did not see whole (a chunk cut off by the model's window) is embedded on its own."""
    spans = [vector_sentence_spans(chunk.text) for chunk in chunks]
    texts = [chunk.prefix + chunk.text for chunk in chunks]
    shifted = [
        [(len(chunk.prefix) + s, len(chunk.prefix) + e) for s, e in found]
        for chunk, found in zip(chunks, spans, strict=True)
    ]
    vectors, pooled = embedder.encode_spans(texts, shifted, on_batch, lengths)
    sentences: dict[str, np.ndarray] = {}
    cut: dict[str, str] = {}
    for chunk, found, part in zip(chunks, spans, pooled, strict=True):
        for (start, end), vector in zip(found, part, strict=True):
            key = sentence_key(chunk.text[start:end])
            if vector.any():
                sentences.setdefault(key, vector)
            else:
                cut.setdefault(key, chunk.text[start:end])
    alone = {key: text for key, text in cut.items() if key not in sentences}
    if alone:
        sentences.update(zip(alone, embedder.encode(list(alone.values())), strict=True))
    return vectors, sentences


def write_sentence_vectors(
    pages: Sequence[PageText],
    chunks: ChunkCollection,
    sentences: SentencePages,
    embedder: Embedder,
    computed: Mapping[str, np.ndarray] | None = None,
    on_page: Callable[[int], None] = lambda count: None,
    window: int = 64,
) -> int:
    """Store the sentence vectors of ``pages`` (``window`` pages per write) and flag their chunks; returns how many
    vectors were new. A sentence's vector is taken from ``computed`` (the chunks just embedded), else the store
    (its chunk was kept), else its chunk is run through the model again."""
    fresh_count = 0
    computed = computed or {}
    for first in range(0, len(pages), window):
        part = pages[first : first + window]
        records = [record for page in part for record in sentence_records(page)]
        keys = list(dict.fromkeys(str(record.metadata[KEY]) for record in records))
        known: dict[str, np.ndarray] = {key: computed[key] for key in keys if key in computed}
        fresh_count += len(known)
        stored = [record for record in records if record.metadata[KEY] not in known]  # this page's, kept chunks
        for start in range(0, len(stored), LOOKUP_BATCH):
            part_records = stored[start : start + LOOKUP_BATCH]
            found = sentences.vectors([record.id for record in part_records])
            known.update((str(record.metadata[KEY]), found[record.id]) for record in part_records if record.id in found)
        missing = {key for key in keys if key not in known}
        if missing:
            fresh_count += len(missing)
            known.update(_embed_missing(embedder, part, missing))
        vectors = (
            np.stack([known[str(record.metadata[KEY])] for record in records])
            if records
            else np.zeros((0, embedder.dimension), dtype=np.float32)
        )
        page_ids = [page.page_id for page in part]
        sentences.write_pages(page_ids, records, vectors)
        chunks.flag_pages(page_ids, SENTENCES_FLAG)
        on_page(len(part))
    return fresh_count


def _embed_missing(embedder: Embedder, pages: Sequence[PageText], missing: set[str]) -> dict[str, np.ndarray]:
    """Vectors for the ``missing`` sentence keys: their chunks run through the model again."""
    holders = [
        chunk
        for page in pages
        for chunk in page.chunks
        if any(sentence_key(chunk.text[s:e]) in missing for s, e in vector_sentence_spans(chunk.text))
    ]
    return {key: vector for key, vector in embed_chunks(embedder, holders)[1].items() if key in missing}

"""Sentence vectors at ingest: store a vector for every sentence of a page that could be quoted.

Evidence answers score each sentence of the retrieved passages by its own vector. Stored here once, those
vectors are read at question time instead of computed (``index.vector_cache``). They live in a second
collection (``<collection>-sentences``), one record per distinct sentence of a page, keyed by a hash of its
text; a vector depends only on the text and the model, so one already stored under the same key (an
unchanged sentence of a changed page, a sentence two pages share) is reused, not computed again. A page's
chunks are flagged once its sentences are written, so an interrupted run, or an index built with
``ingest.sentence_vectors`` off, is completed by the next ingest. Which sentences are quoted is left to
``engine.evidence``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from alignment_qa.index.embedder import Embedder
from alignment_qa.index.store_api import SENTENCES_FLAG, ChunkCollection, StoredChunk
from alignment_qa.index.vector_cache import KEY_FIELD as KEY
from alignment_qa.index.vector_cache import sentence_key
from alignment_qa.ingest.chunk import vector_sentences

LOOKUP_BATCH = 500  # keys per "which of these are stored" query


@dataclass(frozen=True)
class PageText:
    """What the sentence records of one page are made from."""

    page_id: str
    page_hash: str
    root: str
    chunk_texts: Sequence[str]


def sentence_records(page: PageText) -> list[StoredChunk]:
    """One record per distinct quotable sentence of ``page``."""
    sentences = vector_sentences(page.chunk_texts)
    return [
        StoredChunk(
            id=f"{page.page_id}#s-{key}",
            text=sentence,
            metadata={
                "page_id": page.page_id,
                "page_hash": page.page_hash,
                "root": page.root,
                "n_chunks": len(sentences),
                KEY: key,
            },
        )
        for sentence, key in ((sentence, sentence_key(sentence)) for sentence in sentences)
    ]


def write_sentence_vectors(
    pages: Sequence[PageText],
    chunks: ChunkCollection,
    sentences: ChunkCollection,
    embedder: Embedder,
    on_page: Callable[[int], None] = lambda count: None,
    window: int = 64,
) -> int:
    """Store the sentence vectors of ``pages`` (``window`` pages per write) and flag their chunks; returns
    how many sentences had to be embedded."""
    embedded = 0
    for first in range(0, len(pages), window):
        part = pages[first : first + window]
        records = [record for page in part for record in sentence_records(page)]
        keys = list(dict.fromkeys(str(record.metadata[KEY]) for record in records))
        known: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            known.update(sentences.vectors_where(KEY, keys[start : start + LOOKUP_BATCH]))
        fresh = {record.metadata[KEY]: record.text for record in records if record.metadata[KEY] not in known}
        if fresh:
            encoded = embedder.encode(list(fresh.values()))
            known.update(zip(map(str, fresh), encoded, strict=True))
            embedded += len(fresh)
        vectors = (
            np.stack([known[str(record.metadata[KEY])] for record in records])
            if records
            else np.zeros((0, embedder.dimension), dtype=np.float32)
        )
        page_ids = [page.page_id for page in part]
        sentences.write_pages(page_ids, records, vectors)
        chunks.flag_pages(page_ids, SENTENCES_FLAG)
        on_page(len(part))
    return embedded

"""Stored sentence vectors, packed one record per page, so that no read or write loads any other page's.

Sentence vectors are only ever read by page and key, never searched. Kept as Chroma vectors (one record per
sentence, as earlier versions did) they cost what Chroma's vector index costs: every add inserts into an HNSW
graph, and the first touch of a collection in a process loads its whole vector segment (2.1 s and 1.6 GB for the
835,808 sentence vectors of a 100x corpus, paid by every one-page ingest and every ``serve``). Here each page's
sentence vectors are one record of the collection ``<collection>-sentence-pages``, id the page id: its metadata
holds the sentences' keys (``vector_cache.sentence_key``, 32 hex digits each, concatenated) and their vectors as
float16 bytes in base64, and its embedding is the single number 1.0, so the vector segment stays a few bytes a
page. float16 changes a cosine by less than 0.0001. A page is written whole in one add, so a reader sees its old
vectors or its new ones. Earlier layouts (a record per sentence, in one collection or in 16 shards) are moved
here by the next ingest (``move_former``), nothing embedded again. What the vectors are, and when they are
written, is left to ``ingest.sentence_vectors``; reading them through a cache to ``vector_cache``.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from alignment_qa.errors import IndexMismatchError
from alignment_qa.index.store_api import ChunkCollection, Store, StoredChunk
from alignment_qa.index.vector_cache import KEY_FIELD, sentence_record_id

KEY_DIGITS = 32  # a sentence key's length: blake2b with 16 bytes, in hex
_PLACEHOLDER = np.ones((1, 1), dtype=np.float32)  # every packed record's embedding: nothing searches them
_FORMER_SHARDS = 16  # the layout of 2026-12-05: records per sentence, in shards by a hash of the page id


def pages_name(chunk_collection: str) -> str:
    """The collection that holds ``chunk_collection``'s sentence vectors, a record per page."""
    return f"{chunk_collection}-sentence-pages"


def former_names(chunk_collection: str) -> list[str]:
    """Where earlier versions kept the same vectors a record per sentence: one collection, then 16 shards."""
    single = f"{chunk_collection}-sentence-vectors"
    return [single, *(f"{single}-{shard:02d}" for shard in range(_FORMER_SHARDS))]


def pack(page_id: str, keys: Sequence[str], vectors: np.ndarray) -> StoredChunk:
    """The record of one page's sentence vectors (one row of ``vectors`` per key)."""
    if any(len(key) != KEY_DIGITS for key in keys) or len(keys) != len(vectors):
        raise ValueError(f"sentence keys of {page_id} do not match their vectors")
    payload = base64.b64encode(np.ascontiguousarray(vectors, dtype=np.float16).tobytes()).decode("ascii")
    return StoredChunk(page_id, "", {"page_id": page_id, "keys": "".join(keys), "vectors": payload})


def unpack(meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """Key -> vector of a packed record; nothing for a record that is not one (its vectors are then embedded)."""
    keys, payload = meta.get("keys"), meta.get("vectors")
    if not isinstance(keys, str) or not isinstance(payload, str) or len(keys) % KEY_DIGITS:
        return {}
    count = len(keys) // KEY_DIGITS
    try:
        flat = np.frombuffer(base64.b64decode(payload, validate=True), dtype=np.float16)
    except (binascii.Error, ValueError):
        return {}
    if not count or flat.size % count:
        return {}
    vectors = flat.reshape(count, -1).astype(np.float32)
    return {keys[row * KEY_DIGITS : (row + 1) * KEY_DIGITS]: vectors[row] for row in range(count)}


class SentencePages:
    """The packed sentence vectors of one chunk collection in ``store``. The collection is looked for once by a
    reader: a reader makes a new object when the chunk collection's revision changes (``Assistant``), as every
    ingest that writes or moves sentence vectors changes it. Safe to share between threads."""

    def __init__(self, store: Store, model: str, chunk_collection: str) -> None:
        self.store = store
        self.model = model
        self.chunk_collection = chunk_collection
        self.name = pages_name(chunk_collection)
        self._found: ChunkCollection | None = None
        self._looked = False
        self._lock = threading.Lock()

    def _collection(self) -> ChunkCollection | None:
        with self._lock:
            if not self._looked:
                self._found, self._looked = self.store.collection(self.model, self.name), True
            return self._found

    def _writable(self) -> ChunkCollection:
        with self._lock:
            if self._found is None:
                self._found = self.store.create(self.model, 1, self.name, searched=False)
                self._looked = True
            return self._found

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these sentence record ids (those not stored are left out)."""
        collection = self._collection()
        if collection is None or not ids:
            return {}
        wanted: dict[str, list[tuple[str, str]]] = {}  # page -> (record id, sentence key)
        for record_id in ids:
            page_id, _, key = record_id.rpartition("#s-")
            wanted.setdefault(page_id, []).append((record_id, key))
        found: dict[str, np.ndarray] = {}
        for page_id, hit in collection.get_chunks(list(wanted)).items():
            stored = unpack(hit.metadata)
            found.update((record_id, stored[key]) for record_id, key in wanted.get(page_id, []) if key in stored)
        return found

    def write_pages(self, page_ids: Sequence[str], records: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        """Replace the sentence vectors of ``page_ids`` with ``records`` (each of one of those pages, with its key
        in ``KEY_FIELD``) and their ``vectors``; a page without records is left with none."""
        rows: dict[str, list[int]] = {}
        for row, record in enumerate(records):
            rows.setdefault(str(record.metadata["page_id"]), []).append(row)
        packed = [
            pack(page_id, [str(records[row].metadata[KEY_FIELD]) for row in chosen], vectors[chosen])
            for page_id, chosen in rows.items()
        ]
        replaced = list(dict.fromkeys([*page_ids, *rows]))
        self._writable().write_pages(replaced, packed, np.repeat(_PLACEHOLDER, len(packed), axis=0))

    def remove_pages(self, page_ids: Sequence[str]) -> None:
        """Remove the sentence vectors of ``page_ids``."""
        collection = self._collection()
        if collection is not None:
            collection.remove_pages(page_ids)

    def drop(self) -> None:
        """Drop every stored sentence vector."""
        with self._lock:
            self._found, self._looked = None, True
        self.store.drop(self.name)

    def _former(self) -> list[tuple[str, ChunkCollection]]:
        """The earlier layouts' collections that hold this model's sentence vectors, the single one first."""
        found = []
        present = self.store.names()  # one listing, not one per name
        for name in former_names(self.chunk_collection):
            collection = leftover_vectors(self.store, self.model, name) if name in present else None
            if collection is not None:
                found.append((name, collection))
        return found

    def drop_former(self) -> None:
        """Drop an earlier layout's collections (an index rebuilt, or made anew, has no use for them)."""
        for name, _ in self._former():
            self.store.drop(name)

    def move_former(self, page_ids: Sequence[str], window: int = 256) -> int:
        """Pack the records an earlier layout holds for ``page_ids`` into pages here, then drop its collections;
        returns how many vectors were moved. The single collection goes first and the shards after, so a page
        found in both (a move between them interrupted, the page written again since) keeps the shard's newer
        vectors. Each page is replaced whole, so an interrupted move is finished by the next call."""
        moved = 0
        for name, collection in self._former():
            for first in range(0, len(page_ids), window):
                rows = [
                    (meta, vector)
                    for meta, vector in collection.page_vectors(page_ids[first : first + window])
                    if len(str(meta.get(KEY_FIELD, ""))) == KEY_DIGITS
                ]
                if rows:
                    records = [
                        StoredChunk(sentence_record_id(str(meta["page_id"]), str(meta[KEY_FIELD])), "", dict(meta))
                        for meta, _ in rows
                    ]
                    self.write_pages([], records, np.stack([vector for _, vector in rows]))
                    moved += len(rows)
            self.store.drop(name)
        return moved


def leftover_vectors(store: Store, model: str, name: str) -> ChunkCollection | None:
    """The collection ``name`` when it holds vectors an earlier version left for ``model`` (sentence vectors kept
    by an earlier layout); None when there is none, or the name is taken by something else (an index of pages,
    vectors of another model)."""
    if not store.exists(name):
        return None
    try:
        found = store.collection(model, name)
    except IndexMismatchError:
        return None
    return found if found is not None and not found.holds_chunks() else None

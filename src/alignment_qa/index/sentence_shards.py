"""Stored sentence vectors, split by page over several Chroma collections so that no access loads them all.

Chroma loads the whole vector segment of a collection the first time a process touches it in any way (a read by
id, a count, an add, a delete): for the 835,808 sentence vectors of a 100x corpus that took 2.1 s and 1.6 GB of
memory, paid by every one-page ingest and by the first answer of every ``serve``. Here the records (one per
distinct quotable sentence of a page, id ``<page>#s-<key>``, see ``ingest.sentence_vectors``) live in ``SHARDS``
collections, ``<collection>-sentence-vectors-NN``, the shard chosen by a hash of the page id: an ingest of one page
touches one shard, an answer the shards of the pages it quotes. Shards are opened (and, for writes, created) when
first needed. Earlier versions kept all records in one collection, ``<collection>-sentence-vectors``
(``unsharded_name``); ingest moves them (``move_unsharded``). What the vectors are, and when they are written, is
left to ``ingest.sentence_vectors``; reading them through a cache to ``vector_cache``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np

from alignment_qa.errors import IndexMismatchError
from alignment_qa.index.store_api import ChunkCollection, Store, StoredChunk
from alignment_qa.index.vector_cache import KEY_FIELD, sentence_record_id

_Item = TypeVar("_Item")
# at 100x about 52k vectors a shard: a first touch costs about 0.13 s instead of 2.1 s. Part of the index format:
# another count puts pages in other shards, so changing it needs a move like ``move_unsharded``.
SHARDS = 16


def shard_of(page_id: str) -> int:
    """The shard that holds the sentence vectors of ``page_id``."""
    return int.from_bytes(hashlib.blake2b(page_id.encode("utf-8"), digest_size=4).digest(), "big") % SHARDS


def shard_name(chunk_collection: str, shard: int) -> str:
    """The name of shard ``shard`` of ``chunk_collection``'s sentence vectors."""
    return f"{chunk_collection}-sentence-vectors-{shard:02d}"


def unsharded_name(chunk_collection: str) -> str:
    """Where earlier versions kept every sentence vector in one collection."""
    return f"{chunk_collection}-sentence-vectors"


def page_of(record_id: str) -> str:
    """The page id of a sentence record id (``<page>#s-<key>``)."""
    return record_id.rpartition("#s-")[0]


class SentenceShards:
    """The sentence-vector shards of one chunk collection in ``store``; ``dimension`` (asked only when a shard is
    created, since it may load the model) is needed to write (None: read-only, a shard that does not exist holds
    nothing). A shard found missing is not looked for again by this object: a reader makes a new one when the
    collection's revision changes (``Assistant``), as every ingest that writes, or moves, records changes it. Safe to
    share between threads."""

    def __init__(
        self, store: Store, model: str, chunk_collection: str, dimension: Callable[[], int] | None = None
    ) -> None:
        self.store = store
        self.model = model
        self.chunk_collection = chunk_collection
        self.dimension = dimension
        self._opened: dict[int, ChunkCollection | None] = {}  # None: looked for, not there
        self._lock = threading.Lock()

    def _shard(self, shard: int) -> ChunkCollection | None:
        """Shard ``shard`` when it exists (looked for once)."""
        with self._lock:
            if shard not in self._opened:
                self._opened[shard] = self.store.collection(self.model, shard_name(self.chunk_collection, shard))
            return self._opened[shard]

    def _writable(self, shard: int) -> ChunkCollection:
        """Shard ``shard``, created when it does not exist."""
        if self.dimension is None:
            raise ValueError("sentence shards opened read-only cannot be written")
        with self._lock:
            found = self._opened.get(shard)
            if found is None:
                name = shard_name(self.chunk_collection, shard)
                found = self._opened[shard] = self.store.create(self.model, self.dimension(), name, searched=False)
            return found

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these record ids (those not stored are left out)."""
        found: dict[str, np.ndarray] = {}
        for shard, part in _by_shard(ids, page_of).items():
            collection = self._shard(shard)
            if collection is not None:
                found.update(collection.vectors(part))
        return found

    def write_pages(self, page_ids: Sequence[str], records: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        """Replace the records of ``page_ids`` with ``records`` (each of one of those pages)."""
        rows = _by_shard(range(len(records)), lambda row: str(records[row].metadata["page_id"]))
        pages = _by_shard(page_ids, lambda page_id: page_id)
        for shard in sorted(set(rows) | set(pages)):
            chosen = rows.get(shard, [])
            replaced = pages.get(shard, [])
            self._writable(shard).write_pages(replaced, [records[row] for row in chosen], vectors[chosen])

    def remove_pages(self, page_ids: Sequence[str]) -> None:
        """Remove every record of ``page_ids``."""
        for shard, part in _by_shard(page_ids, lambda page_id: page_id).items():
            collection = self._shard(shard)
            if collection is not None:
                collection.remove_pages(part)

    def drop(self) -> None:
        """Drop every shard."""
        with self._lock:
            self._opened.clear()
        for shard in range(SHARDS):
            self.store.drop(shard_name(self.chunk_collection, shard))

    def _unsharded(self) -> ChunkCollection | None:
        return leftover_vectors(self.store, self.model, unsharded_name(self.chunk_collection))

    def drop_unsharded(self) -> None:
        """Drop an earlier version's single collection (an index rebuilt, or made anew, has no use for it)."""
        if self._unsharded() is not None:
            self.store.drop(unsharded_name(self.chunk_collection))

    def move_unsharded(self, page_ids: Sequence[str], window: int = 256) -> int:
        """Move the records of an earlier version's single collection (``unsharded_name``) of ``page_ids`` into the
        shards, then drop it; returns how many were moved. Each window of pages is replaced whole in its shards,
        so an interrupted move is finished by the next call."""
        old = self._unsharded()
        if old is None:
            return 0
        moved = 0
        for first in range(0, len(page_ids), window):
            part = page_ids[first : first + window]
            rows = list(old.page_vectors(part))
            records = [
                StoredChunk(sentence_record_id(str(meta["page_id"]), str(meta[KEY_FIELD])), "", dict(meta))
                for meta, _ in rows
            ]
            vectors = np.stack([vector for _, vector in rows]) if rows else np.zeros((0, 0), dtype=np.float32)
            self.write_pages(part, records, vectors)
            moved += len(records)
        self.store.drop(unsharded_name(self.chunk_collection))
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


def _by_shard(items: Iterable[_Item], page: Callable[[_Item], str]) -> dict[int, list[_Item]]:
    groups: dict[int, list[_Item]] = {}
    for item in items:
        groups.setdefault(shard_of(page(item)), []).append(item)
    return groups

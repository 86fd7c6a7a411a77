"""Sentence embeddings kept in memory: a bounded, thread-safe LRU keyed by a hash of the text.

Misses are first looked up in ``stored`` by record id, when the caller says which page each sentence is from (the
sentence vectors ingest wrote, pooled from each sentence's chunk, see ``ingest.sentence_vectors``; an id lookup
costs the same at any index size), and what is still missing is encoded on its own, in one batch (close to the
stored kind, not identical). Used by evidence selection (with ``stored``) and by the support judges (without:
their weights were fitted on sentences embedded alone), which score the same sentences again and again; what
is evicted is simply read or encoded again. Stored vectors are forgotten when the engine moves to another state
of the index (``forget_stored``): a changed page may give the same sentence another context. Nothing is written
here.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from alignment_qa.index.embedder import Embedder

log = logging.getLogger(__name__)

KEY_FIELD = "sentence"  # the metadata field of a stored sentence vector that holds its key
StoredLookup = Callable[[Sequence[str]], dict[str, np.ndarray]]  # record ids -> the stored vectors found


def sentence_key(text: str) -> str:
    """The key of ``text``'s vector: a hash of its exact characters."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def sentence_record_id(page_id: str, key: str) -> str:
    """The id of the stored vector of the sentence with ``key`` (``sentence_key``) on page ``page_id``."""
    return f"{page_id}#s-{key}"


def former_sentence_collection_name(chunk_collection: str) -> str:
    """Where earlier versions kept sentence vectors embedded on their own (ingest drops it)."""
    return f"{chunk_collection}-sentences"


class SentenceVectors:
    """Sentence embeddings with a bounded LRU cache; misses are read from ``stored`` when given (and the caller
    says which page each sentence is from), the rest encoded on their own in one batch. A stored vector is cached
    by its record id, an encoded one by the text's hash, and a stored one is preferred, so the two kinds never
    stand in for each other."""

    def __init__(self, embedder: Embedder, capacity: int = 20_000, stored: StoredLookup | None = None) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self.stored = stored
        self._warned = False  # a failing store is logged as a warning once
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0  # counts forget_stored calls: a read that started before one is not cached

    def encode(self, texts: Sequence[str], pages: Sequence[str] | None = None) -> np.ndarray:
        """One vector per text; ``pages`` (the page each text is from) lets them be read from ``stored``."""
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        keys = [sentence_key(text) for text in texts]
        found: dict[int, np.ndarray] = {}
        if self.stored is not None and pages is not None:
            ids = [sentence_record_id(page, key) for page, key in zip(pages, keys, strict=True)]
            found.update(self._cached(ids, range(len(texts))))
            missing = [i for i in range(len(texts)) if i not in found]
            if missing:
                generation = self._generation
                from_store = self._read_stored([ids[i] for i in missing])
                found.update((i, from_store[ids[i]]) for i in missing if ids[i] in from_store)
                self._remember([(ids[i], found[i]) for i in missing if i in found], generation)
        missing = [i for i in range(len(texts)) if i not in found]
        found.update(self._cached(keys, missing))
        missing = [i for i in missing if i not in found]
        if missing:
            encoded = self.embedder.encode([texts[i] for i in missing])
            found.update((i, encoded[row]) for row, i in enumerate(missing))
            self._remember([(keys[i], found[i]) for i in missing])
        return np.stack([found[i] for i in range(len(texts))])

    def _cached(self, keys: Sequence[str], positions: Iterable[int]) -> dict[int, np.ndarray]:
        """The cached vectors of ``keys`` at ``positions``, by position."""
        hits: dict[int, np.ndarray] = {}
        with self._lock:
            for i in positions:
                vector = self._cache.get(keys[i])
                if vector is not None:
                    self._cache.move_to_end(keys[i])
                    hits[i] = vector
        return hits

    def _read_stored(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors with these record ids; none when the store fails (they are then encoded)."""
        assert self.stored is not None
        try:
            return self.stored(list(dict.fromkeys(ids)))
        except Exception as exc:  # a store that is down or being reopened costs speed, never an answer
            log.log(
                logging.DEBUG if self._warned else logging.WARNING,
                "reading stored sentence vectors failed (embedding them instead): %s",
                exc,
            )
            self._warned = True
            return {}

    def _remember(self, items: Sequence[tuple[str, np.ndarray]], generation: int | None = None) -> None:
        """Cache ``items``; stored ones read in an earlier ``generation`` may be from the index before: dropped."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return
            for key, vector in items:
                self._cache[key] = vector
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def forget_stored(self) -> None:
        """Forget the vectors read from ``stored`` (another index is in use now); encoded ones stay valid."""
        with self._lock:
            self._generation += 1
            for key in [key for key in self._cache if "#s-" in key]:
                del self._cache[key]

    def clear(self) -> None:
        """Forget every vector (benchmarks measure a cold cache with it)."""
        with self._lock:
            self._cache.clear()

    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """``text -> vector`` for the distinct ``texts`` (one ``encode`` call)."""
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.encode(unique), strict=True))

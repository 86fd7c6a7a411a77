"""Sentence embeddings kept in memory: a bounded, thread-safe LRU keyed by a hash of the text.

Misses are encoded in one batch. Shared by evidence selection and the support judges, which score the
same sentences again and again; what is evicted is simply encoded again. Nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from alignment_qa.index.embedder import Embedder


class SentenceVectors:
    """Sentence embeddings with a bounded LRU cache keyed by the text's hash; misses are encoded in one batch."""

    def __init__(self, embedder: Embedder, capacity: int = 20_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest() for text in texts]
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for i, key in enumerate(keys):
                vector = self._cache.get(key)
                if vector is not None:
                    self._cache.move_to_end(key)
                    found[i] = vector
        missing = [i for i in range(len(texts)) if i not in found]
        if missing:
            encoded = self.embedder.encode([texts[i] for i in missing])
            with self._lock:
                for row, i in enumerate(missing):
                    found[i] = encoded[row]
                    self._cache[keys[i]] = encoded[row]
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([found[i] for i in range(len(texts))])

    def clear(self) -> None:
        """Forget every vector (benchmarks measure a cold cache with it)."""
        with self._lock:
            self._cache.clear()

    def lookup(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """``text -> vector`` for the distinct ``texts`` (one ``encode`` call)."""
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.encode(unique), strict=True))

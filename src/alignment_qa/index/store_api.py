"""The store interface: what ingest, the keyword index, retrieval and the assistant need from a vector store.

A ``Store`` opens named collections of chunks (the default one holds the page chunks; another name, for example
sentence vectors, gives another collection with the same interface); a ``ChunkCollection`` counts, searches,
reads and writes chunks page by page and carries the ``revision`` token derived indexes compare. Failures of the
backend surface as ``StoreUnavailableError``. The Chroma implementation is ``index.store``; these are only the
types, with no backend imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from alignment_qa.settings import StoreSettings

Metadata = dict[str, str | int | float | bool]
# chunk metadata: the sentence vectors of the chunk's page are stored, pooled in context (the flag "sentences" of
# earlier versions meant vectors of sentences embedded on their own: such pages get new ones)
SENTENCES_FLAG = "sentences_in_context"


def make_chunk_id(page_id: str, page_hash: str, index: int) -> str:
    """The id of chunk ``index`` of the version ``page_hash`` of page ``page_id``: ``page#hash12-n``."""
    return f"{page_id}#{page_hash[:12]}-{index}"


@dataclass(frozen=True)
class PageState:
    """What the store holds for one page."""

    page_hash: str
    root: str
    n_chunks: int
    stored_chunks: int
    title: str = ""
    url: str = ""
    sentences: bool = False  # every chunk says its page's sentence vectors were stored

    @property
    def complete(self) -> bool:
        return self.stored_chunks == self.n_chunks


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as written: id, text and flat metadata (its vector travels beside it). A record that is only
    looked up by id may leave its text empty."""

    id: str
    text: str
    metadata: Metadata


@dataclass(frozen=True)
class SearchHit:
    """One chunk found by a search: its id, rank (1 = best), score, text and metadata (and its vector, when
    the read asked for it)."""

    id: str
    rank: int
    score: float
    text: str
    metadata: dict[str, Any]
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


class ChunkCollection(Protocol):
    """One collection of chunks with their vectors; pages are written and removed whole."""

    @property
    def name(self) -> str: ...

    def count(self) -> int:
        """How many chunks it holds."""
        ...

    def holds_chunks(self) -> bool:
        """Whether it is an index of pages (ingest gave it a revision, or it holds chunk records), as opposed to
        other records such as sentence vectors."""
        ...

    def revision(self) -> str:
        """A token that changes whenever an ingest starts writing."""
        ...

    def new_revision(self) -> str:
        """Mark the collection as changing (call before writing); returns the new token."""
        ...

    def page_states(self) -> dict[str, PageState]:
        """Per page id: content hash, root, declared and stored chunk counts, title and URL."""
        ...

    def search_many(self, vectors: Sequence[np.ndarray], k: int, with_text: bool = True) -> list[list[SearchHit]]:
        """For each vector, in one request: the ``k`` chunks nearest it (cosine), best first; chunks deleted
        meanwhile are left out. Without ``with_text`` only ids, ranks and scores (much faster; text and metadata
        are empty, and a deleted chunk may still be named)."""
        ...

    def get_chunks(self, ids: Sequence[str], with_vectors: bool = False) -> dict[str, SearchHit]:
        """The chunks with these ids (missing ids are left out), as unranked hits; ``with_vectors``: with
        their stored vectors."""
        ...

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the records with these ids (missing ids are left out), by id."""
        ...

    def matches(self, pattern: str) -> bool:
        """Whether some chunk's text matches the regular expression ``pattern`` (Rust ``regex`` syntax: no
        look-around)."""
        ...

    def page_chunks(self, page_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The chunk texts and metadata of one page, in order (empty when it is not indexed)."""
        ...

    def page_vectors(self, page_ids: Sequence[str]) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
        """Metadata and vector of every stored chunk of these pages."""
        ...

    def read_chunks(self, page_size: int = 5000) -> Iterator[SearchHit]:
        """Every chunk, read in pages of ``page_size`` (chunks deleted meanwhile are left out)."""
        ...

    def info(self) -> dict[str, Any]:
        """Collection-level facts for ``stats``: pages, chunks, model, location, last ingest."""
        ...

    def write_pages(self, replaced: Sequence[str], chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        """Delete the chunks of the ``replaced`` pages, then add ``chunks`` so pages appear whole or not at all."""
        ...

    def remove_pages(self, page_ids: Sequence[str]) -> None: ...

    def set_root(self, page_id: str, root: str) -> None:
        """Record that an unchanged page now comes from another folder (a moved corpus)."""
        ...

    def flag_pages(self, page_ids: Sequence[str], key: str) -> None:
        """Set the metadata flag ``key`` on every chunk of these pages."""
        ...

    def record_ingest(self, when: str, summary: dict[str, Any]) -> None: ...


class Store(Protocol):
    """Where collections live: opens, creates and drops them by name (default: ``settings.collection``)."""

    settings: StoreSettings

    @property
    def embedded(self) -> bool:
        """Whether the store is in this process (its readers reopen to see another process's writes)."""
        ...

    @property
    def location(self) -> str:
        """Where the store is, for messages (never with a login)."""
        ...

    def exists(self, name: str | None = None) -> bool: ...

    def names(self) -> set[str]:
        """The names of the collections in the store, in one listing (none when there is no store yet)."""
        ...

    def recorded_model(self, name: str | None = None) -> str | None:
        """The embedding model the collection records, unchecked; ``None`` when there is no such collection."""
        ...

    def collection(self, model: str, name: str | None = None) -> ChunkCollection | None:
        """The existing collection, checked against ``model``; ``None`` if there is none yet."""
        ...

    def create(self, model: str, dimension: int, name: str | None = None, searched: bool = True) -> ChunkCollection:
        """Get or create a collection; ``searched=False``: its records are only read by id (``vectors``), never
        searched by vector, so the backend may skip building a good search structure."""
        ...

    def drop(self, name: str | None = None) -> None: ...

    def close(self) -> None:
        """Let go of the connection; the next call opens a new one."""
        ...


def derived_folder(store: Store, kind: str) -> Path:
    """Where what this host derives from ``store``'s collection is kept: ``data_dir/<kind>/<collection>``, the
    collection's name prefixed by the server's address for a Chroma server."""
    settings = store.settings
    name = settings.collection
    if settings.chroma_url:
        host = settings.chroma_url.split("://", 1)[1].rstrip("/").replace(":", "_").replace("/", "_")
        name = f"{host}__{name}"
    return settings.data_dir / kind / name

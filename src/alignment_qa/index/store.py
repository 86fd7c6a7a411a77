"""The Chroma store of chunks: open it, check what built it, read page states, write pages.

Embedded (``PersistentClient`` under ``data_dir/chroma``) or a Chroma server by URL. The
collection's metadata records the embedding model and dimension; opening it with another
model is an ``IndexMismatchError``. Consistency: a page's chunks carry the page's content hash
and the chunk count, and a page is rewritten as "delete old chunks, then add all new chunks in
one call", so an interrupted run leaves every page either whole (old or new) or absent, and
``page_states`` flags any page with missing chunks so the next run redoes it.
A ``revision`` token in the collection metadata changes before every ingest writes, so derived
indexes (the keyword index) can tell when they are stale.

Another process's writes: an embedded client keeps its vector (HNSW) index in memory and never
sees chunks another process adds or deletes (Chroma caches one client per path and process), so a
reader ``close()``s and reopens when the revision changes. Until then, and while a server is
mid-ingest, a search may name chunks that are gone: those hits are left out, never an error.
Ranking beyond plain dense search is left to the answering engine.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

import numpy as np

from alignment_qa.errors import IndexMismatchError, StoreUnavailableError
from alignment_qa.settings import StoreSettings, without_login

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.client import Client
    from chromadb.api.models.Collection import Collection

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageState:
    """What the store holds for one page."""

    page_hash: str
    root: str
    n_chunks: int
    stored_chunks: int

    @property
    def complete(self) -> bool:
        return self.stored_chunks == self.n_chunks


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as written: id, text, vector and flat metadata."""

    id: str
    text: str
    metadata: dict[str, str | int | float | bool]


@dataclass(frozen=True)
class SearchHit:
    """One chunk found by a search: its id, rank (1 = best), score, text and metadata."""

    id: str
    rank: int
    score: float
    text: str
    metadata: dict[str, Any]


def _close(client: ClientAPI) -> None:
    """Release ``client``: Chroma stops an embedded database when the last client on its path closes."""
    cast("Client", client).close()


def _page_in(page_ids: Sequence[str]) -> Any:
    """A Chroma ``where`` filter matching chunks of any of ``page_ids``."""
    return {"page_id": {"$in": list(page_ids)}}


class ChunkStore:
    """A Chroma collection of chunks, embedded or on a server."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self._client: ClientAPI | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> ChunkStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def embedded(self) -> bool:
        """Whether the index is the embedded database (not a Chroma server)."""
        return not self.settings.chroma_url

    def close(self) -> None:
        """Let go of the client; the next call opens a new one. Collections from the old client stop
        working once no other client of this process holds the same embedded store open."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                _close(client)
            except Exception as exc:  # closing a client whose server is gone: nothing to release
                log.debug("closing the Chroma client failed: %s", exc)

    # -- connection ----------------------------------------------------------------------
    @property
    def location(self) -> str:
        """Where the index is, for messages: a server URL never shows its user or password."""
        if self.settings.chroma_url:
            return f"{without_login(self.settings.chroma_url)} (collection {self.settings.collection})"
        return f"{self.chroma_path} (collection {self.settings.collection})"

    @property
    def chroma_path(self) -> Path:
        return self.settings.data_dir / "chroma"

    def _connect(self) -> ClientAPI:
        with self._lock:
            if self._client is None:
                self._client = self._open()
            return self._client

    def _open(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url
        try:
            if url:
                parsed = urlparse(url)
                ssl = parsed.scheme == "https"
                client = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or (443 if ssl else 8000),
                    ssl=ssl,
                    settings=chroma_settings,
                )
                try:
                    client.heartbeat()
                except Exception:
                    _close(client)
                    raise
                return client
            self.chroma_path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.chroma_path), settings=chroma_settings)
        except Exception as exc:  # connection and file errors come in many types
            where = without_login(url) if url else str(self.chroma_path)
            raise StoreUnavailableError(f"cannot open the Chroma store at {where}: {exc}") from exc

    def exists(self) -> bool:
        """Whether the collection exists, without creating anything."""
        if not self.settings.chroma_url and not self.chroma_path.exists():
            return False
        return self._get() is not None

    def _get(self) -> Collection | None:
        client = self._connect()
        names = {getattr(item, "name", item) for item in client.list_collections()}
        if self.settings.collection not in names:
            return None
        return client.get_collection(self.settings.collection, embedding_function=None)

    def collection(self, model: str) -> Collection | None:
        """The existing collection, checked against ``model``; ``None`` if there is none yet."""
        collection = self._get()
        if collection is not None:
            self._check_model(collection, model)
        return collection

    def create(self, model: str, dimension: int) -> Collection:
        """Get or create the collection for ``model`` vectors of ``dimension``."""
        existing = self.collection(model)
        if existing is not None:
            return existing
        client = self._connect()
        return client.create_collection(
            self.settings.collection,
            metadata={"embed_model": model, "embed_dim": dimension, "schema": SCHEMA_VERSION},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )

    def _check_model(self, collection: Collection, model: str) -> None:
        meta = collection.metadata or {}
        built_with = meta.get("embed_model")
        if built_with is not None and built_with != model:
            raise IndexMismatchError(
                f"the index at {self.location} was built with embedding model '{built_with}' "
                f"(dimension {meta.get('embed_dim')}), but '{model}' is configured. Searching it "
                "with another model would return meaningless results. Use the same model, a "
                "different collection or data_dir, or rebuild with `alignment-qa ingest --rebuild`."
            )

    def drop(self) -> None:
        """Delete the collection, if it exists."""
        if self.exists():
            self._connect().delete_collection(self.settings.collection)

    # -- reading -------------------------------------------------------------------------
    def page_states(self, collection: Collection | None) -> dict[str, PageState]:
        """Per page id: content hash, root, declared and stored chunk counts."""
        if collection is None:
            return {}
        records = collection.get(include=["metadatas"])
        counts: dict[tuple[str, str], int] = {}
        declared: dict[tuple[str, str], tuple[str, int]] = {}
        for meta in records["metadatas"] or []:
            if meta is None:  # deleted by another process since the ids were read
                continue
            key = (str(meta["page_id"]), str(meta["page_hash"]))
            counts[key] = counts.get(key, 0) + 1
            declared[key] = (str(meta.get("root", "")), int(meta["n_chunks"]))  # type: ignore[arg-type]
        states: dict[str, PageState] = {}
        for (page_id, page_hash), stored in counts.items():
            root, n_chunks = declared[(page_id, page_hash)]
            if page_id in states:  # two versions of a page: only an interrupted write leaves that
                stored += states[page_id].stored_chunks
                n_chunks = -1
            states[page_id] = PageState(page_hash, root, n_chunks, stored)
        return states

    def search(self, collection: Collection, vector: np.ndarray, k: int) -> list[SearchHit]:
        result = collection.query(
            query_embeddings=[vector.astype(np.float32).tolist()],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        hits: list[SearchHit] = []
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        for chunk_id, text, meta, distance in zip(ids, documents, metadatas, distances, strict=True):
            if meta is None or text is None:  # deleted since this client's vector index was loaded
                continue
            hits.append(SearchHit(chunk_id, len(hits) + 1, 1.0 - float(distance), text, dict(meta)))
        return hits

    def get_chunks(self, collection: Collection, ids: Sequence[str]) -> dict[str, SearchHit]:
        """The chunks with these ids (missing ids are left out), as unranked hits."""
        if not ids:
            return {}
        result = collection.get(ids=list(ids), include=["documents", "metadatas"])
        found = zip(result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True)
        return {
            chunk_id: SearchHit(chunk_id, 0, 0.0, text or "", dict(meta))
            for chunk_id, text, meta in found
            if meta is not None
        }

    def page_chunks(self, collection: Collection, page_id: str) -> list[tuple[str, dict[str, Any]]]:
        """The chunk texts and metadata of one page, in order (empty when it is not indexed)."""
        records = collection.get(where={"page_id": page_id}, include=["documents", "metadatas"])
        chunks = [
            (text or "", dict(meta))
            for text, meta in zip(records["documents"] or [], records["metadatas"] or [], strict=True)
            if meta is not None
        ]
        return sorted(chunks, key=lambda item: int(item[1].get("chunk_index", 0)))

    def revision(self, collection: Collection) -> str:
        """A token that changes whenever an ingest starts writing to the collection."""
        return str((collection.metadata or {}).get("revision", ""))

    def new_revision(self, collection: Collection) -> str:
        """Mark the collection as changing (call before writing); returns the new token."""
        token = uuid.uuid4().hex
        self._set_metadata(collection, {"revision": token})
        return token

    def _set_metadata(self, collection: Collection, values: dict[str, Any]) -> None:
        meta = dict(collection.metadata or {})
        meta.pop("hnsw:space", None)
        meta.update(values)
        collection.modify(metadata=meta)

    def info(self, collection: Collection) -> dict[str, Any]:
        """Collection-level facts for ``stats``."""
        meta = dict(collection.metadata or {})
        states = self.page_states(collection)
        return {
            "pages": len(states),
            "incomplete_pages": sorted(page for page, state in states.items() if not state.complete),
            "chunks": collection.count(),
            "embed_model": meta.get("embed_model"),
            "embed_dim": meta.get("embed_dim"),
            "store": self.location,
            "last_ingest": meta.get("last_ingest"),
            "last_ingest_summary": json.loads(str(meta.get("last_ingest_summary", "{}"))),
        }

    # -- writing -------------------------------------------------------------------------
    def write_pages(
        self, collection: Collection, replaced: Sequence[str], chunks: Sequence[StoredChunk], vectors: np.ndarray
    ) -> None:
        """Delete the chunks of the ``replaced`` pages, then add ``chunks`` in as few calls as
        the store allows (one for a normal window), so pages appear whole or not at all."""
        if replaced:
            collection.delete(where=_page_in(replaced))
        step = self._connect().get_max_batch_size()
        for first in range(0, len(chunks), step):
            part = chunks[first : first + step]
            collection.add(
                ids=[chunk.id for chunk in part],
                embeddings=vectors[first : first + step].astype(np.float32),
                documents=[chunk.text for chunk in part],
                metadatas=[chunk.metadata for chunk in part],
            )

    def remove_pages(self, collection: Collection, page_ids: Sequence[str]) -> None:
        if page_ids:
            collection.delete(where=_page_in(page_ids))

    def set_root(self, collection: Collection, page_id: str, root: str) -> None:
        """Record that an unchanged page now comes from another folder (a moved corpus)."""
        records = collection.get(where={"page_id": page_id}, include=[])
        if records["ids"]:
            collection.update(ids=records["ids"], metadatas=[{"root": root}] * len(records["ids"]))

    def record_ingest(self, collection: Collection, when: str, summary: dict[str, Any]) -> None:
        self._set_metadata(collection, {"last_ingest": when, "last_ingest_summary": json.dumps(summary)})

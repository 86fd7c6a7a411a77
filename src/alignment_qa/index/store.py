"""The Chroma store of chunks: open it, check what built it, read page states, write pages.

``ChunkStore`` implements ``store_api.Store`` and hands out ``ChromaCollection``s (``store_api.ChunkCollection``),
the default one named by ``store.collection``, others by name. Embedded (``PersistentClient`` under
``data_dir/chroma``) or a Chroma server by URL. A collection's metadata records the embedding model and dimension;
opening it with another model is an ``IndexMismatchError``. Consistency: a page's chunks carry the page's content
hash and the chunk count, and a page is rewritten as "delete old chunks, then add all new chunks in one call", so
an interrupted run leaves every page either whole (old or new) or absent, and ``page_states`` flags any page with
missing chunks so the next run redoes it. A ``revision`` token in the collection metadata changes before every
ingest writes, so derived indexes (the keyword index) can tell when they are stale. Chroma's own errors leave this
module as ``StoreUnavailableError``; no other module imports ``chromadb``.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

import numpy as np

from alignment_qa.errors import AlignmentQAError, IndexMismatchError, StoreUnavailableError
from alignment_qa.index.store_api import SENTENCES_FLAG, PageState, SearchHit, StoredChunk, make_chunk_id
from alignment_qa.settings import INT8_MARK, StoreSettings, without_login

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.client import Client
    from chromadb.api.models.Collection import Collection

SCHEMA_VERSION = 1
# the HNSW graph of a collection only read by key: as small as Chroma allows to build (adds cost a third)
LOOKUP_ONLY_HNSW = {"ef_construction": 16, "max_neighbors": 4}
log = logging.getLogger(__name__)


def _close(client: ClientAPI) -> None:
    """Release ``client``: Chroma stops an embedded database when the last client on its path closes."""
    cast("Client", client).close()


def _page_in(page_ids: Sequence[str]) -> Any:
    """A Chroma ``where`` filter matching chunks of any of ``page_ids``."""
    return {"page_id": {"$in": list(page_ids)}}


@contextmanager
def _failures(where: str, action: str) -> Iterator[None]:
    """Chroma's errors (many types: its own, HTTP, SQLite, a closed client) as ``StoreUnavailableError``;
    the original is the ``__cause__``."""
    try:
        yield
    except AlignmentQAError:
        raise
    except Exception as exc:
        raise StoreUnavailableError(f"the Chroma store at {where} failed to {action}: {exc}") from exc


def _declared(meta: Any) -> tuple[str, int, str, str]:
    """What a chunk says about its page: root, chunk count, title, URL."""
    return (
        str(meta.get("root", "")),
        int(meta["n_chunks"]),
        str(meta.get("title", "") or ""),
        str(meta.get("url", "") or ""),
    )


def _last_chunk_id(meta: dict[str, Any]) -> str:
    """The id of the last chunk of the page version that ``meta`` (a chunk's metadata) belongs to."""
    return make_chunk_id(str(meta["page_id"]), str(meta["page_hash"]), int(meta["n_chunks"]) - 1)


def _states(
    counts: dict[tuple[str, str], int],
    declared: dict[tuple[str, str], tuple[str, int, str, str]],
    unflagged: set[tuple[str, str]],
) -> dict[str, PageState]:
    """Page states from the stored chunk count of each (page, hash) version, what its chunks declare and which
    versions have a chunk without the sentence-vectors flag."""
    states: dict[str, PageState] = {}
    for (page_id, page_hash), stored in counts.items():
        root, n_chunks, title, url = declared[(page_id, page_hash)]
        if page_id in states:  # two versions of a page: only an interrupted write leaves that
            stored += states[page_id].stored_chunks
            n_chunks = -1
        flagged = (page_id, page_hash) not in unflagged
        states[page_id] = PageState(page_hash, root, n_chunks, stored, title, url, flagged)
    return states


class ChromaCollection:
    """One Chroma collection of chunks (``store_api.ChunkCollection``)."""

    def __init__(
        self,
        raw: Collection,
        location: str,
        max_batch: Callable[[], int],
        reread: Callable[[], dict[str, Any]],
    ) -> None:
        self._raw = raw
        self.location = location
        self._max_batch = max_batch
        self._reread = reread  # the collection's metadata as stored now

    @property
    def name(self) -> str:
        return str(self._raw.name)

    def _meta(self) -> dict[str, Any]:
        """The metadata as stored now: the copy Chroma hands out with a collection is never refreshed, so it
        would hide another process's revision (and a merge into it would undo that process's fields)."""
        with _failures(self.location, "read the collection's metadata"):
            return self._reread()

    def count(self) -> int:
        with _failures(self.location, "count chunks"):
            return int(self._raw.count())

    def holds_chunks(self) -> bool:
        if self.revision():  # ingest gives an index of pages a revision as soon as it creates it
            return True
        with _failures(self.location, "read chunks"):
            first = self._raw.get(limit=1, include=["metadatas"])
        return any(meta is not None and "n_chunks" in meta for meta in first["metadatas"] or [])

    # -- revision ------------------------------------------------------------------------
    def revision(self) -> str:
        return str(self._meta().get("revision", ""))

    def new_revision(self) -> str:
        token = uuid.uuid4().hex
        self._set_metadata({"revision": token})
        return token

    def _set_metadata(self, values: dict[str, Any]) -> None:
        meta = self._meta()
        meta.pop("hnsw:space", None)
        meta.update(values)
        with _failures(self.location, "update the collection"):
            self._raw.modify(metadata=meta)

    # -- reading -------------------------------------------------------------------------
    def page_states(self) -> dict[str, PageState]:
        """Read from each page's first chunk (its metadata declares the page's chunk count ``n``) and whether its
        last chunk (id ``page#hash12-<n-1>``) is stored: a page's chunks are written in order, so with its first
        and last chunk stored and as many chunks in the collection as the pages declare, every page is whole. That
        reads two records a page, not one a chunk. Anything else (an interrupted write, two versions of a page)
        is read the long way, from every chunk id (``_page_states_from_ids``)."""
        with _failures(self.location, "read page states"):
            firsts = self._raw.get(where={"chunk_index": 0}, include=["metadatas"])
            heads: list[dict[str, Any]] = [dict(meta) for meta in firsts["metadatas"] or [] if meta is not None]
            lasts = {_last_chunk_id(meta): meta for meta in heads}
            stored_lasts = set(self._raw.get(ids=list(lasts), include=[])["ids"]) if lasts else set()
            total = int(self._raw.count())
        pages = {str(meta["page_id"]) for meta in heads}
        declared_total = sum(int(meta["n_chunks"]) for meta in heads)
        if len(pages) != len(heads) or stored_lasts != set(lasts) or declared_total != total:
            return self._page_states_from_ids(heads)
        declared = {(str(meta["page_id"]), str(meta["page_hash"])): _declared(meta) for meta in heads}
        counts = {key: value[1] for key, value in declared.items()}
        unflagged = {key for key, meta in zip(declared, heads, strict=True) if meta.get(SENTENCES_FLAG) is not True}
        return _states(counts, declared, unflagged)

    def _page_states_from_ids(self, first_chunks: Sequence[dict[str, Any]]) -> dict[str, PageState]:
        """Page states from every chunk's id (``page#hash12-n``: how many chunks of each version of a page are
        stored) and the metadata of each page's first chunk; the metadata of every chunk is read only when a page
        lacks its first chunk (an interrupted write)."""
        with _failures(self.location, "read page states"):
            ids = self._raw.get(include=[])["ids"]
        versions: dict[tuple[str, str], int] = {}
        for chunk_id in ids:
            page_id, marker, rest = chunk_id.rpartition("#")
            if not marker or "-" not in rest:
                return self._page_states_from_every_chunk()  # not written by this version's ingest
            key = (page_id, rest.rpartition("-")[0])
            versions[key] = versions.get(key, 0) + 1
        heads = {(str(meta["page_id"]), str(meta["page_hash"])[:12]): meta for meta in first_chunks}
        if any(key not in heads for key in versions):
            return self._page_states_from_every_chunk()
        counts = {(page_id, str(heads[(page_id, short)]["page_hash"])): n for (page_id, short), n in versions.items()}
        declared = {(page_id, str(meta["page_hash"])): _declared(meta) for (page_id, _), meta in heads.items()}
        unflagged = {
            (page_id, str(meta["page_hash"]))
            for (page_id, _), meta in heads.items()
            if meta.get(SENTENCES_FLAG) is not True
        }
        return _states(counts, declared, unflagged)

    def _page_states_from_every_chunk(self) -> dict[str, PageState]:
        with _failures(self.location, "read page states"):
            records = self._raw.get(include=["metadatas"])
        counts: dict[tuple[str, str], int] = {}
        declared: dict[tuple[str, str], tuple[str, int, str, str]] = {}
        unflagged: set[tuple[str, str]] = set()  # a chunk without the sentence-vectors flag
        for meta in records["metadatas"] or []:
            if meta is None:  # deleted by another process since the ids were read
                continue
            key = (str(meta["page_id"]), str(meta["page_hash"]))
            counts[key] = counts.get(key, 0) + 1
            if meta.get(SENTENCES_FLAG) is not True:
                unflagged.add(key)
            declared[key] = _declared(meta)
        return _states(counts, declared, unflagged)

    def search_many(self, vectors: Sequence[np.ndarray], k: int, with_text: bool = True) -> list[list[SearchHit]]:
        if not len(vectors):
            return []
        include: Any = ["documents", "metadatas", "distances"] if with_text else ["distances"]
        with _failures(self.location, "search"):
            result = self._raw.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32).tolist() for vector in vectors],
                n_results=k,
                include=include,
            )
        documents: Any = result["documents"] if with_text else None
        metadatas: Any = result["metadatas"] if with_text else None
        rows = zip(
            result["ids"],
            documents or [[""] * len(ids) for ids in result["ids"]],
            metadatas or [[{}] * len(ids) for ids in result["ids"]],
            result["distances"] or [[]] * len(vectors),
            strict=True,
        )
        found: list[list[SearchHit]] = []
        for ids, documents, metadatas, distances in rows:
            hits: list[SearchHit] = []
            for chunk_id, text, meta, distance in zip(ids, documents, metadatas, distances, strict=True):
                if meta is None or text is None:  # deleted since this client's vector index was loaded
                    continue
                hits.append(SearchHit(chunk_id, len(hits) + 1, 1.0 - float(distance), text, dict(meta)))
            found.append(hits)
        return found

    def get_chunks(self, ids: Sequence[str], with_vectors: bool = False) -> dict[str, SearchHit]:
        if not ids:
            return {}
        include: Any = ["documents", "metadatas", "embeddings"] if with_vectors else ["documents", "metadatas"]
        with _failures(self.location, "read chunks"):
            result = self._raw.get(ids=list(ids), include=include)
        embeddings = result["embeddings"] if with_vectors and result["embeddings"] is not None else []
        vectors: list[np.ndarray | None] = [np.asarray(vector, dtype=np.float32) for vector in embeddings]
        vectors = vectors or [None] * len(result["ids"])
        found = zip(result["ids"], result["documents"] or [], result["metadatas"] or [], vectors, strict=True)
        return {
            chunk_id: SearchHit(chunk_id, 0, 0.0, text or "", dict(meta), vector)
            for chunk_id, text, meta, vector in found
            if meta is not None
        }

    def matches(self, pattern: str) -> bool:
        with _failures(self.location, "search the chunks' text"):
            return bool(self._raw.get(where_document={"$regex": pattern}, limit=1, include=[])["ids"])

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        with _failures(self.location, "read vectors"):
            stored = self._raw.get(ids=list(ids), include=["embeddings"])
        embeddings = stored["embeddings"] if stored["embeddings"] is not None else []
        return {
            str(record_id): np.asarray(vector, dtype=np.float32)
            for record_id, vector in zip(stored["ids"], embeddings, strict=False)
            if vector is not None
        }

    def page_chunks(self, page_id: str) -> list[tuple[str, dict[str, Any]]]:
        with _failures(self.location, "read a page"):
            records = self._raw.get(where={"page_id": page_id}, include=["documents", "metadatas"])
        chunks = [
            (text or "", dict(meta))
            for text, meta in zip(records["documents"] or [], records["metadatas"] or [], strict=True)
            if meta is not None
        ]
        return sorted(chunks, key=lambda item: int(item[1].get("chunk_index", 0)))

    def page_vectors(self, page_ids: Sequence[str]) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
        if not page_ids:
            return
        with _failures(self.location, "read vectors"):
            records = self._raw.get(where=_page_in(page_ids), include=["metadatas", "embeddings"])
        embeddings = records["embeddings"] if records["embeddings"] is not None else []
        for meta, vector in zip(records["metadatas"] or [], embeddings, strict=False):
            if meta is not None and vector is not None:
                yield dict(meta), np.asarray(vector, dtype=np.float32)

    def read_chunks(self, page_size: int = 5000) -> Iterator[SearchHit]:
        offset = 0
        while True:
            with _failures(self.location, "read chunks"):
                batch = self._raw.get(include=["documents", "metadatas"], limit=page_size, offset=offset)
            ids = batch["ids"]
            if not ids:
                break
            for chunk_id, text, meta in zip(ids, batch["documents"] or [], batch["metadatas"] or [], strict=True):
                if meta is not None:  # None: deleted by another process while we read
                    yield SearchHit(chunk_id, 0, 0.0, text or "", dict(meta))
            offset += len(ids)
            if len(ids) < page_size:
                break

    def info(self) -> dict[str, Any]:
        meta = self._meta()
        states = self.page_states()
        return {
            "pages": len(states),
            "incomplete_pages": sorted(page for page, state in states.items() if not state.complete),
            "chunks": self.count(),
            "embed_model": meta.get("embed_model"),
            "embed_dim": meta.get("embed_dim"),
            "store": self.location,
            "last_ingest": meta.get("last_ingest"),
            "last_ingest_summary": json.loads(str(meta.get("last_ingest_summary", "{}"))),
        }

    # -- writing -------------------------------------------------------------------------
    def write_pages(self, replaced: Sequence[str], chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        """Delete the chunks of the ``replaced`` pages, then add ``chunks`` in as few calls as
        the store allows (one for a normal window), so pages appear whole or not at all."""
        with _failures(self.location, "write pages"):
            if replaced:
                self._raw.delete(where=_page_in(replaced))
            step = self._max_batch()
            for first in range(0, len(chunks), step):
                part = chunks[first : first + step]
                self._raw.add(
                    ids=[chunk.id for chunk in part],
                    embeddings=vectors[first : first + step].astype(np.float32),
                    # no texts at all (records read by key): Chroma then skips its full-text index
                    documents=[chunk.text for chunk in part] if any(chunk.text for chunk in part) else None,
                    metadatas=[chunk.metadata for chunk in part],
                )

    def remove_pages(self, page_ids: Sequence[str]) -> None:
        if page_ids:
            with _failures(self.location, "remove pages"):
                self._raw.delete(where=_page_in(page_ids))

    def set_root(self, page_id: str, root: str) -> None:
        with _failures(self.location, "update a page"):
            records = self._raw.get(where={"page_id": page_id}, include=[])
            if records["ids"]:
                self._raw.update(ids=records["ids"], metadatas=[{"root": root}] * len(records["ids"]))

    def flag_pages(self, page_ids: Sequence[str], key: str) -> None:
        if not page_ids:
            return
        with _failures(self.location, "update pages"):
            records = self._raw.get(where=_page_in(page_ids), include=[])
            if records["ids"]:
                self._raw.update(ids=records["ids"], metadatas=[{key: True}] * len(records["ids"]))

    def record_ingest(self, when: str, summary: dict[str, Any]) -> None:
        self._set_metadata({"last_ingest": when, "last_ingest_summary": json.dumps(summary)})


class ChunkStore:
    """Chroma, embedded or on a server (``store_api.Store``): opens named collections of chunks."""

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
        return self._location(self.settings.collection)

    def _location(self, name: str) -> str:
        if self.settings.chroma_url:
            return f"{without_login(self.settings.chroma_url)} (collection {name})"
        return f"{self.chroma_path} (collection {name})"

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
            # absolute: Chroma caches one system per path string in the process, so a relative path
            # opened from two working directories would reach the first one's files
            return chromadb.PersistentClient(path=str(self.chroma_path.resolve()), settings=chroma_settings)
        except Exception as exc:  # connection and file errors come in many types
            where = without_login(url) if url else str(self.chroma_path)
            raise StoreUnavailableError(f"cannot open the Chroma store at {where}: {exc}") from exc

    def _max_batch(self) -> int:
        return int(self._connect().get_max_batch_size())

    def _wrap(self, raw: Collection) -> ChromaCollection:
        name = str(raw.name)
        return ChromaCollection(raw, self._location(name), self._max_batch, lambda: self._stored_metadata(name))

    def _stored_metadata(self, name: str) -> dict[str, Any]:
        return dict(self._connect().get_collection(name, embedding_function=None).metadata or {})

    def exists(self, name: str | None = None) -> bool:
        """Whether the collection exists, without creating anything."""
        return (name or self.settings.collection) in self.names()

    def names(self) -> set[str]:
        """The names of the collections in the store, in one listing, without creating anything."""
        if not self.settings.chroma_url and not self.chroma_path.exists():
            return set()
        client = self._connect()
        where = without_login(self.settings.chroma_url) if self.settings.chroma_url else str(self.chroma_path)
        with _failures(where, "list the collections"):
            return {str(getattr(item, "name", item)) for item in client.list_collections()}

    def _get(self, name: str) -> Collection | None:
        if name not in self.names():
            return None
        with _failures(self._location(name), "open the collection"):
            return self._connect().get_collection(name, embedding_function=None)

    def recorded_model(self, name: str | None = None) -> str | None:
        """The embedding model the collection (default: ``store.collection``) records, unchecked; ``None``
        when there is no such collection."""
        raw = self._get(name or self.settings.collection)
        built_with = (raw.metadata or {}).get("embed_model") if raw is not None else None
        return None if built_with is None else str(built_with)

    def collection(self, model: str, name: str | None = None) -> ChromaCollection | None:
        """The existing collection (default: ``store.collection``), checked against ``model``; ``None`` if
        there is none yet."""
        raw = self._get(name or self.settings.collection)
        if raw is None:
            return None
        self._check_model(raw, model)
        return self._wrap(raw)

    def create(self, model: str, dimension: int, name: str | None = None, searched: bool = True) -> ChromaCollection:
        """Get or create the collection for ``model`` vectors of ``dimension``; one never ``searched`` gets a
        minimal HNSW graph, which is what Chroma spends most of an add on."""
        existing = self.collection(model, name)
        if existing is not None:
            return existing
        name = name or self.settings.collection
        client = self._connect()
        hnsw: Any = {"space": "cosine"} if searched else {"space": "cosine", **LOOKUP_ONLY_HNSW}
        try:
            with _failures(self._location(name), "create the collection"):
                raw = client.create_collection(
                    name,
                    metadata={"embed_model": model, "embed_dim": dimension, "schema": SCHEMA_VERSION},
                    configuration={"hnsw": hnsw},
                    embedding_function=None,
                )
        except StoreUnavailableError:
            made = self.collection(model, name)  # another process created it since the check above: use that one
            if made is None:
                raise
            return made
        return self._wrap(raw)

    def _check_model(self, raw: Collection, model: str) -> None:
        meta = raw.metadata or {}
        built_with = meta.get("embed_model")
        if built_with is not None and built_with != model:
            if str(built_with).removesuffix(INT8_MARK) == model.removesuffix(INT8_MARK):  # other precision
                backend = "onnx-int8" if str(built_with).endswith(INT8_MARK) else "onnx"
                raise IndexMismatchError(
                    f"the index at {self._location(str(raw.name))} holds '{built_with}' vectors, but '{model}' "
                    f"ones are configured: set embedding.backend = {backend} (or auto) to use it, or rebuild it "
                    "with `alignment-qa ingest --rebuild`."
                )
            raise IndexMismatchError(
                f"the index at {self._location(str(raw.name))} was built with embedding model '{built_with}' "
                f"(dimension {meta.get('embed_dim')}), but '{model}' is configured. Searching it "
                "with another model would return meaningless results. Use the same model, a "
                "different collection or data_dir, or rebuild with `alignment-qa ingest --rebuild`."
            )

    def drop(self, name: str | None = None) -> None:
        """Delete the collection, if it exists."""
        name = name or self.settings.collection
        if self.exists(name):
            with _failures(self._location(name), "delete the collection"):
                self._connect().delete_collection(name)

"""Ingest: bring the index in step with folders of pages, embedding only what changed.

For each page file: read it, compare its content hash with the store, and only for new or
changed pages clean, chunk and embed; a chunk of a changed page whose text (``content_hash``) is
unchanged keeps its stored vector instead of being embedded again. Each of those pages' quotable
sentences gets its own vector, pooled from the same model pass as its chunk (``sentence_vectors``;
unchanged pages that lack them are completed after). At the end the keyword index (BM25 and
aliases) is brought in step with the store. Pages of a synced folder that are gone from disk are
removed, also those indexed under an outer folder. A file indexed before under a folder is the same page
when given again from a folder inside it or by itself ("ingest corpus", then "ingest corpus/wiki/page.md").
A folder or file given that is gone from disk, but was indexed, has its pages removed (any other missing path is
an error). Bad files are skipped with a reason (a page that was indexed before keeps its last good version); what a
kept page lost in cleaning (an unusable source URL) is listed in ``warnings``. Work is written page by page
after each window of embedded chunks, so an interrupted run keeps what it wrote and the next run finishes
the rest. Searching is left to ``index``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from alignment_qa.errors import ConfigError, InputPathError
from alignment_qa.index import page_cache
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.keyword import KeywordChanges, Record, keyword_index_current, sync_keyword_index
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.sentence_pages import SentencePages, leftover_vectors
from alignment_qa.index.store_api import ChunkCollection, PageState, Store, StoredChunk, make_chunk_id
from alignment_qa.index.vector_cache import former_sentence_collection_name
from alignment_qa.ingest.chunk import Chunk, chunk_page
from alignment_qa.ingest.clean import CleanPage, clean_page
from alignment_qa.ingest.discover import Discovery, PageFile, Skipped, discover
from alignment_qa.ingest.read import EmptyPage, UnusableFile, decode_page, read_page_bytes
from alignment_qa.ingest.sentence_vectors import ChunkText, PageText, embed_chunks, write_sentence_vectors
from alignment_qa.settings import Settings

# Bump when cleaning or chunking changes: every page is then re-chunked on the next ingest.
PIPELINE_VERSION = "2026-12-07.4"


class ProgressReporter(Protocol):
    """Where the pipeline reports progress; the CLI draws bars, tests may record calls."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self) -> None: ...


class _Silent:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True)
class PageWarning:
    """Something an indexed page lost while being cleaned (e.g. an unusable source URL)."""

    page_id: str
    reason: str


@dataclass
class IngestSummary:
    """What one ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)
    warnings: list[PageWarning] = field(default_factory=list)
    ignored_files: int = 0
    chunks_written: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    sentence_pages: int = 0
    sentences_embedded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["skipped"] = [asdict(item) for item in self.skipped]
        data["warnings"] = [asdict(item) for item in self.warnings]
        return data

    def counts(self) -> dict[str, int]:
        """Sizes only, for the store's ``last_ingest_summary``."""
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "removed": len(self.removed),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped),
            "chunks_written": self.chunks_written,
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "sentence_pages": self.sentence_pages,
            "sentences_embedded": self.sentences_embedded,
        }


@dataclass
class _PendingPage:
    file: PageFile
    page_hash: str
    page: CleanPage
    chunks: list[Chunk]
    is_new: bool


def pipeline_fingerprint(settings: Settings) -> str:
    """Everything besides a file's bytes that decides its chunks and vectors."""
    parts = (PIPELINE_VERSION, settings.embedding.identity, str(settings.ingest.chunk_max_tokens))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def page_hash(fingerprint: str, data: bytes) -> str:
    return hashlib.sha256(fingerprint.encode() + b"\x00" + data).hexdigest()


def chunk_window(embedder: Embedder, configured: int | None) -> int:
    """The chunk size limit in word-pieces: the setting, or the model's window."""
    window = embedder.max_tokens
    if configured is None:
        return window
    if configured > window:
        raise ConfigError(
            f"ingest.chunk_max_tokens = {configured} exceeds the window of embedding model "
            f"'{embedder.name}' ({window} word-pieces): the model would cut chunks off."
        )
    return configured


def stored_chunks(file: PageFile, page_hash_: str, page: CleanPage, chunks: Sequence[Chunk]) -> list[StoredChunk]:
    """The records written to the store for one page's chunks."""
    records = []
    for chunk in chunks:
        records.append(
            StoredChunk(
                id=make_chunk_id(file.page_id, page_hash_, chunk.index),
                text=chunk.text,
                metadata={
                    "page_id": file.page_id,
                    "page_hash": page_hash_,
                    "root": str(file.root),
                    "title": page.title,
                    "url": page.url or "",
                    "categories": ", ".join(page.categories),
                    "updated": page.updated or "",
                    "section": " > ".join(chunk.section_path),
                    "section_path": "\x1f".join(chunk.section_path),
                    "anchor": chunk.anchor,
                    "start": chunk.start,
                    "end": chunk.end,
                    "chunk_index": chunk.index,
                    "n_chunks": len(chunks),
                    "tokens": chunk.tokens,
                    "prefix": chunk.prefix,
                    "content_hash": chunk.content_hash,
                    "opens_in_caption": chunk.opens_in_caption,
                },
            )
        )
    return records


def _located(path: Path) -> Path:
    """``path`` with its folders resolved, but not its last part (a link stays the link)."""
    return Path(os.path.realpath(path.parent)) / path.name


def _known_files(pages: list[PageFile], states: dict[str, PageState]) -> tuple[list[PageFile], dict[str, str]]:
    """``pages`` with the id and folder each already has in the index when that is kept, and the indexed ids that
    the files found now replace, each with the id replacing it. A file indexed under an outer folder keeps that id
    when reached again through a folder inside it ("ingest corpus", then "ingest corpus/wiki"), also through a link
    to it; a file or link given by itself is the page it already is, wherever that was indexed; a file with the id
    it has stays in its folder unless that folder is now a link to this one (a corpus moved with a link left behind).
    One indexed under an inner folder, or as a link, takes the id found now, and the old id leaves the index once
    the new one is indexed (or passes to the file that now has that id). Real paths are compared only when some file
    is new or moved."""
    if not states or all(
        (state := states.get(file.page_id)) is not None and state.root == str(file.root) for file in pages
    ):
        return pages, {}
    indexed: dict[str, list[str]] = {}  # real path of an indexed page's file -> its page ids
    for page_id, state in states.items():
        indexed.setdefault(os.path.realpath(Path(state.root) / page_id), []).append(page_id)
    out: list[PageFile] = []
    superseded: dict[str, str] = {}
    for file in pages:
        real = os.path.realpath(file.path)
        known = indexed.get(real, [])
        ids = [page_id for page_id in known if page_id != file.page_id]
        if file.page_id in known:
            state = states[file.page_id]
            if not _same_path(Path(state.root), file.root):  # not a folder moved with a link left behind
                file = replace(file, root=Path(state.root))  # the page it is, where it was indexed
        elif ids:
            outer = [  # found before under a folder around this one, as this path or as the file itself (not a link)
                page_id
                for page_id in ids
                if Path(states[page_id].root) != file.root
                and file.root.is_relative_to(states[page_id].root)
                and _located(Path(states[page_id].root) / page_id) in (_located(file.path), Path(real))
            ]
            if outer or file.alone:  # a file given by itself is the page it already is, wherever that is
                kept = (outer or ids)[0]
                file = replace(file, page_id=kept, root=Path(states[kept].root))
        superseded.update((page_id, file.page_id) for page_id in ids if page_id != file.page_id)
        out.append(file)
    return out, superseded


def _same_path(first: Path, second: Path) -> bool:
    """Whether two paths lead to one file or folder (through links, or a folder moved with a link left at its old
    name)."""
    return os.path.realpath(first) == os.path.realpath(second)


def _gone_from_inner_folder(path: Path, synced_roots: Sequence[Path], unread: Sequence[Path]) -> bool:
    """Whether the file of a page indexed under an outer folder lies in a synced folder and is gone from disk (not
    merely inside a folder that could not be read: ``unread``)."""
    return (
        any(path.is_relative_to(root) for root in synced_roots)
        and not any(path.is_relative_to(folder) for folder in unread)
        and _gone(path)
    )


def _gone(path: Path) -> bool:
    """Whether ``path`` is not there at all: not found, or under a file; one that cannot be read (a folder above it
    without permission) is not gone."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _vanished(paths: Sequence[Path], states: Mapping[str, PageState]) -> dict[Path, list[str]]:
    """The given paths that no longer exist but were indexed (a folder, one inside an indexed folder, or a page's
    file), with the pages indexed from under them. Any other missing path is left to ``discover``, which refuses
    it."""
    found: dict[Path, list[str]] = {}
    for path in paths:
        if ".." in path.parts or not _gone(path):  # "corpus/missing/.." is no deleted folder, but corpus
            continue
        where = Path(os.path.abspath(path)).resolve()
        pages = sorted(
            page_id for page_id, state in states.items() if (Path(state.root) / page_id).is_relative_to(where)
        )
        if pages:
            found[path] = pages
    return found


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    store: Store,
    progress: ProgressReporter | None = None,
    rebuild: bool = False,
) -> IngestSummary:
    """Bring the store in step with ``paths``; see the module docstring for the rules."""
    started = time.perf_counter()
    progress = progress or _Silent()
    summary = IngestSummary()
    # with --rebuild the old collection is dropped only once new chunks are ready to be written
    collection = None if rebuild else store.collection(settings.embedding.identity)
    ledger = _KeywordLedger(collection.revision() if collection is not None else None)  # before the states
    cached = page_cache.load(store, ledger.base or "") if collection is not None else None
    states: dict[str, PageState] = {}
    if collection is not None:
        states = cached if cached is not None else collection.page_states()
    vanished = _vanished(paths, states)  # given again after being deleted: their pages go
    present = [path for path in paths if path not in vanished]
    vanished_pages = [page_id for pages in vanished.values() for page_id in pages]
    indexed = {str(Path(state.root) / page_id) for page_id, state in states.items()}
    found = (
        discover(present, settings.ingest.extensions, settings.ingest.follow_symlinks, indexed)
        if present
        else Discovery()
    )
    summary.skipped.extend(found.skipped)
    summary.ignored_files = found.ignored
    moved: dict[str, str] = {}  # unchanged pages found under another folder: page id -> the folder now
    moved_from: set[str] = set()
    fingerprint = pipeline_fingerprint(settings)
    max_bytes = int(settings.ingest.max_file_mb * 1_000_000)

    todo: list[tuple[PageFile, str, bytes]] = []
    seen: set[str] = set()
    seen.update(item.page_id for item in found.skipped if item.page_id)
    pages, superseded = _known_files(found.pages, states)
    for file in pages:
        state = states.get(file.page_id)
        seen.add(file.page_id)
        if state is not None and state.root != str(file.root) and file.page_id not in superseded:
            old = Path(state.root) / file.page_id
            if os.path.lexists(old) and not _same_path(old, file.path):
                summary.skipped.append(
                    Skipped(
                        str(file.path),
                        f"page id '{file.page_id}' is already indexed from {state.root}; ingest a common "
                        "parent folder, or use another collection",
                    )
                )
                continue
            if not os.path.lexists(state.root) or _same_path(Path(state.root), file.root):
                moved_from.add(state.root)  # the old folder is gone (or is a link to this one): the corpus moved
            # else its file was deleted, and this one takes over the page id (that folder is not synced here)
        try:
            data = read_page_bytes(file.path, max_bytes)
        except UnusableFile as exc:
            summary.skipped.append(_skip(file, str(exc), states, superseded))
            continue
        digest = page_hash(fingerprint, data)
        if state is not None and state.page_hash == digest and state.complete:
            summary.unchanged.append(file.page_id)
            if collection is not None and state.root != str(file.root):
                if not moved:
                    ledger.new_revision(collection)  # what other processes remember of the states changes
                collection.set_root(file.page_id, str(file.root))
                moved[file.page_id] = str(file.root)
            continue
        todo.append((file, digest, data))

    pending = _prepare(todo, states, settings, embedder, progress, summary)
    if rebuild and not pending:  # nothing read: dropping the old collection would only lose it
        given = ", ".join(str(path) for path in paths)
        raise InputPathError(
            f"no page to index under {given} ({len(summary.skipped)} skipped): --rebuild would leave an empty "
            "index, so nothing was changed"
        )
    to_embed = sum(len(item.chunks) for item in pending)
    packed = SentencePages(store, settings.embedding.identity, settings.store.collection)
    _drop_former_sentence_vectors(store, settings)
    migrated = 0
    if collection is not None:
        migrated = packed.move_former(sorted(states))
        if migrated:
            ledger.new_revision(collection)  # readers look for the packed vectors again
    elif not rebuild:
        packed.drop_former()  # left by an earlier version whose chunks are gone
    sentences: SentencePages | None = None
    if pending:
        if rebuild:
            store.drop()
            packed.drop()
            packed.drop_former()
        collection = store.create(settings.embedding.identity, embedder.dimension)
        ledger.new_revision(collection)
        for item in pending:
            if not item.is_new:
                ledger.remove_page(item.file.page_id, states[item.file.page_id])
        if settings.ingest.sentence_vectors:
            sentences = packed
        progress.start("Embedding chunks", to_embed)
        window: list[_PendingPage] = []
        window_chunks = 0
        for item in pending:
            window.append(item)
            window_chunks += len(item.chunks)
            if window_chunks >= settings.ingest.write_window:
                _embed_and_write(window, embedder, collection, sentences, progress, summary, ledger)
                window, window_chunks = [], 0
        _embed_and_write(window, embedder, collection, sentences, progress, summary, ledger)
        progress.finish()

    synced = {str(root) for root in found.synced_roots} | moved_from
    unread = [item for item in found.skipped if item.page_id and item.page_id.endswith("/")]  # folders not listed
    protected = tuple(str(item.page_id) for item in unread)
    unread_folders = [Path(item.path) for item in unread]
    indexed_now = {*summary.added, *summary.updated, *summary.unchanged}
    gone_from_disk = sorted(
        page_id
        for page_id, state in states.items()
        if page_id not in seen
        and not page_id.startswith(protected)
        and (
            state.root in synced
            or _gone_from_inner_folder(Path(state.root) / page_id, found.synced_roots, unread_folders)
        )
    )
    replaced = sorted(  # only once the file's new id is indexed, and not when the old id now holds another file
        old_id for old_id, new_id in superseded.items() if new_id in indexed_now and old_id not in indexed_now
    )
    gone = list(
        dict.fromkeys(
            [*gone_from_disk, *replaced, *summary.emptied, *(page for page in vanished_pages if page not in seen)]
        )
    )
    if collection is not None:
        if gone:
            ledger.new_revision(collection)
            for page_id in gone:
                ledger.remove_page(page_id, states[page_id])
            packed.remove_pages(gone)  # first: an interruption then leaves no orphan sentence records
            collection.remove_pages(gone)
        summary.removed.extend(gone)
        texts: list[PageText] = []
        if settings.ingest.sentence_vectors:  # unchanged pages whose sentence vectors were never (all) stored
            texts = [_stored_page_text(collection, page_id) for page_id in _unflagged(summary.unchanged, states)]
            if texts:
                ledger.new_revision(collection)
                sentences = packed
                summary.sentence_pages += len(texts)
                progress.start("Embedding sentences", len(texts))
                summary.sentences_embedded += write_sentence_vectors(
                    texts, collection, sentences, embedder, on_page=progress.advance
                )
                progress.finish()
        summary.chunks_total = collection.count()
        collection.record_ingest(datetime.now(UTC).isoformat(timespec="seconds"), summary.counts())
        # a reader may have built a keyword index from half-written data meanwhile, or open no sentence vectors
        if pending or gone or texts or moved or migrated:
            sync_keyword_index(store, collection, Analyzer(), embedder.is_plain_word, ledger.changes(collection))
        elif not keyword_index_current(store, collection):
            sync_keyword_index(store, collection, Analyzer(), embedder.is_plain_word)
        left = ledger.ours if ledger.ours is not None else ledger.base or ""
        if ledger.exact and (cached is None or left != ledger.base) and collection.revision() == left:
            page_cache.save(store, left, _states_left(states, pending, gone, moved, texts, settings))
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _KeywordLedger:
    """What a run changed for the keyword index, so that it can be updated instead of rebuilt: the chunks removed
    (their ids follow from the page states) and added since revision ``base`` (None: a new collection)."""

    base: str | None
    exact: bool = True  # False once that cannot be told: an incomplete page, or another process wrote meanwhile
    removed: set[str] = field(default_factory=set)
    added: list[Record] = field(default_factory=list)
    ours: str | None = None  # the last revision this run set

    def remove_page(self, page_id: str, state: PageState) -> None:
        if not state.complete or state.n_chunks < 0:
            self.exact = False
            return
        self.removed.update(make_chunk_id(page_id, state.page_hash, index) for index in range(state.n_chunks))

    def new_revision(self, collection: ChunkCollection) -> str:
        """Marks the collection changed; a revision other than the one this run saw last means another process
        wrote in between, and the changes are no longer known."""
        if collection.revision() != (self.ours if self.ours is not None else (self.base or "")):
            self.exact = False
        self.ours = collection.new_revision()
        return self.ours

    def changes(self, collection: ChunkCollection) -> KeywordChanges | None:
        """Marks the collection changed (a new revision) and returns what changed since ``base``, or None when
        that cannot be told."""
        revision = self.new_revision(collection)
        return KeywordChanges(self.base, revision, self.removed, self.added) if self.exact else None


def _drop_former_sentence_vectors(store: Store, settings: Settings) -> None:
    """Drop the sentences an earlier version embedded on their own (replaced by pooled ones), unless the collection
    of that name is someone's index of pages (its name is only a convention) or was built with another model."""
    former = former_sentence_collection_name(settings.store.collection)
    if leftover_vectors(store, settings.embedding.identity, former) is not None:
        store.drop(former)


def _states_left(
    states: dict[str, PageState],
    written: Sequence[_PendingPage],
    gone: Sequence[str],
    moved: dict[str, str],
    completed: Sequence[PageText],
    settings: Settings,
) -> dict[str, PageState]:
    """The page states an ingest leaves: those it found, less the pages it removed, with the pages it wrote as it
    wrote them, the folders it moved and the sentence vectors it completed (what ``page_states`` would read)."""
    removed = set(gone)
    left = {page_id: state for page_id, state in states.items() if page_id not in removed}
    for page_id, root in moved.items():
        left[page_id] = replace(left[page_id], root=root)
    for item in written:
        n_chunks = len(item.chunks)
        title, url = item.page.title, item.page.url or ""
        sentences = settings.ingest.sentence_vectors
        left[item.file.page_id] = PageState(
            item.page_hash, str(item.file.root), n_chunks, n_chunks, title, url, sentences
        )
    for page in completed:
        left[page.page_id] = replace(left[page.page_id], sentences=True)
    return left


def _unflagged(page_ids: Sequence[str], states: dict[str, PageState]) -> list[str]:
    """The pages among ``page_ids`` whose sentence vectors were never (completely) stored."""
    return [page_id for page_id in page_ids if page_id in states and not states[page_id].sentences]


def _stored_page_text(collection: ChunkCollection, page_id: str) -> PageText:
    chunks = collection.page_chunks(page_id)
    return PageText(page_id, [ChunkText(str(meta.get("prefix", "")), text) for text, meta in chunks])


def _skip(
    file: PageFile, reason: str, states: dict[str, PageState], superseded: Mapping[str, str] | None = None
) -> Skipped:
    if file.page_id in states and file.page_id not in (superseded or {}):  # a superseded id held another file
        reason += " (the previously indexed version is kept)"
    return Skipped(str(file.path), reason)


def _prepare(
    todo: Sequence[tuple[PageFile, str, bytes]],
    states: dict[str, PageState],
    settings: Settings,
    embedder: Embedder,
    progress: ProgressReporter,
    summary: IngestSummary,
) -> list[_PendingPage]:
    """Decode, clean and chunk the new or changed pages."""
    if not todo:
        return []
    max_tokens = chunk_window(embedder, settings.ingest.chunk_max_tokens)
    pending: list[_PendingPage] = []
    progress.start("Reading pages", len(todo))
    for file, digest, data in todo:
        try:
            page = clean_page(decode_page(data), file.path.name, file.path.suffix.lower())
            if not page.sections:
                raise EmptyPage("no text after cleaning")
            chunks = chunk_page(page, max_tokens, embedder)
        except EmptyPage as exc:
            if file.page_id in states:  # the page lost its content: so does the index
                summary.emptied.append(file.page_id)
                summary.skipped.append(Skipped(str(file.path), f"{exc} (removed from the index)"))
            else:
                summary.skipped.append(Skipped(str(file.path), str(exc)))
        except UnusableFile as exc:
            summary.skipped.append(_skip(file, str(exc), states))
        except Exception as exc:  # a bug must cost one page, not the whole run
            summary.skipped.append(_skip(file, f"could not be processed ({type(exc).__name__}: {exc})", states))
        else:
            pending.append(_PendingPage(file, digest, page, chunks, file.page_id not in states))
            summary.warnings.extend(PageWarning(file.page_id, reason) for reason in page.warnings)
        progress.advance()
    progress.finish()
    return pending


def _embed_and_write(
    window: list[_PendingPage],
    embedder: Embedder,
    collection: ChunkCollection,
    sentences: SentencePages | None,
    progress: ProgressReporter,
    summary: IngestSummary,
    ledger: _KeywordLedger,
) -> None:
    """Embed the window's chunks (reusing the stored vector of any chunk whose text is unchanged) and write
    its pages; with ``sentences``, then their sentence vectors, pooled from the same model pass."""
    if not window:
        return
    chunks = [chunk for item in window for chunk in item.chunks]
    replaced = [item.file.page_id for item in window if not item.is_new]
    known = {str(meta.get("content_hash")): vector for meta, vector in collection.page_vectors(replaced)}
    vectors = np.empty((len(chunks), embedder.dimension), dtype=np.float32)
    fresh = [position for position, chunk in enumerate(chunks) if chunk.content_hash not in known]
    for position, chunk in enumerate(chunks):
        if chunk.content_hash in known:
            vectors[position] = known[chunk.content_hash]
    if len(fresh) < len(chunks):
        progress.advance(len(chunks) - len(fresh))
    pooled: dict[str, np.ndarray] = {}
    if fresh:
        vectors[fresh], pooled = embed_chunks(
            embedder,
            [ChunkText(chunks[position].prefix, chunks[position].text) for position in fresh],
            on_batch=progress.advance,
            lengths=[chunks[position].tokens for position in fresh],
        )
    records = [record for item in window for record in stored_chunks(item.file, item.page_hash, item.page, item.chunks)]
    collection.write_pages(replaced, records, vectors)
    ledger.added.extend(
        (record.id, str(record.metadata["title"]), f"{record.metadata['prefix']}{record.text}") for record in records
    )
    summary.chunks_written += len(records)
    summary.chunks_embedded += len(fresh)
    for item in window:
        (summary.added if item.is_new else summary.updated).append(item.file.page_id)
    if sentences is not None:
        pages = [
            PageText(item.file.page_id, [ChunkText(chunk.prefix, chunk.text) for chunk in item.chunks])
            for item in window
        ]
        summary.sentences_embedded += write_sentence_vectors(pages, collection, sentences, embedder, pooled)
        summary.sentence_pages += len(pages)

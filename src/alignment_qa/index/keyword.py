"""The keyword side of the index: BM25 over the stored chunks and the learned alias table (and, from BM25's postings,
whether some chunk holds all the words of a name: "European Central Bank").

All of it is derived from the chunk collection (``store_api.ChunkCollection``) and kept in a folder next to it
(``data_dir/keyword/<collection>``), with what an update needs: each chunk's term counts, its title and what it
says about names (``ChunkTerms``). The collection's metadata carries a ``revision`` that every ingest changes before
it writes; this folder records the revision it matches. An ingest that knows what it changed since that revision
(``KeywordChanges``: the chunks it removed and added) updates the index: only the new chunks are analysed, BM25's
scores are recomputed from the kept counts, and the alias table from the kept evidence. Anything else (a missing or
stale index: an interrupted ingest, another host writing to a shared Chroma server) rebuilds it from the collection
the next time it is opened. Writes go to a temporary folder that is renamed into place, so readers never see half
an index. Dense search stays in ``store``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alignment_qa.index.aliases import AliasTable, Evidence, alias_evidence, table_from_evidence
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store_api import ChunkCollection, Store, derived_folder

if TYPE_CHECKING:
    import bm25s

FORMAT_VERSION = 6  # 3: kept term counts, titles and alias evidence (updates); 4: spellings; 5: "W2SG" aliases;
# 6: parts of a book by number ("chapter 8")
REVISION_FILE = "revision.json"  # the format and revision alone, so a check need not read the whole manifest
K1, B = 1.5, 0.75  # BM25 (Lucene's variant, bm25s's default)
# an update is refused, and the index rebuilt, once the chunks removed since the last build pass this share of it:
# words no chunk uses any more stay in the vocabulary until a rebuild
STALE_SHARE = 0.25
log = logging.getLogger(__name__)

Record = tuple[str, str, str]  # (chunk id, page title, prefix + text)
SPELLING_MIN_CHARS = 5  # shorter words are not kept as spellings (a typo of one is not corrected)


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float
    rank: int


@dataclass(frozen=True)
class KeywordChanges:
    """What an ingest changed since the keyword index matched ``base_revision``: the chunks it removed and the
    ones it added; the collection's revision is then ``revision``."""

    base_revision: str | None  # None: a collection created by this ingest
    revision: str
    removed: Collection[str]
    added: Sequence[Record]


@dataclass
class ChunkTerms:
    """What updating the index needs, one row per chunk: term counts (a CSR matrix over ``vocabulary``, which only
    grows), titles and alias evidence; and ``spellings``, the words of letters alone the chunks spell (lower-cased,
    not stemmed, ``SPELLING_MIN_CHARS`` or longer), which also only grow: what a typo may be corrected to."""

    vocabulary: list[str] = field(default_factory=list)
    indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    term_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    titles: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    stale: int = 0  # chunks removed since these rows were last built from scratch
    spellings: frozenset[str] = frozenset()

    def appended(self, records: Sequence[Record], analyzer: Analyzer) -> ChunkTerms:
        """These rows followed by one row per record (analysed now)."""
        vocabulary = list(self.vocabulary)
        ids = {term: i for i, term in enumerate(vocabulary)}
        lengths, term_ids, counts = [], [], []
        spellings = set(self.spellings)
        for _, _, text in records:
            words = analyzer.words(text)
            spellings.update(word for word in words if len(word) >= SPELLING_MIN_CHARS and word.isalpha())
            terms = analyzer.stems(words)
            for term in terms:
                if term not in ids:
                    ids[term] = len(vocabulary)
                    vocabulary.append(term)
            unique, repeats = np.unique(np.array([ids[term] for term in terms], dtype=np.int32), return_counts=True)
            lengths.append(len(unique))
            term_ids.append(unique)
            counts.append(repeats.astype(np.int32))
        return ChunkTerms(
            vocabulary,
            np.concatenate([self.indptr, self.indptr[-1] + np.cumsum(lengths, dtype=np.int64)]),
            np.concatenate([self.term_ids, *term_ids]).astype(np.int32),
            np.concatenate([self.counts, *counts]).astype(np.int32),
            [*self.titles, *(title for _, title, _ in records)],
            [*self.evidence, *(alias_evidence(title, text) for _, title, text in records)],
            self.stale,
            frozenset(spellings),
        )

    def kept(self, rows: np.ndarray) -> ChunkTerms:
        """Only the rows where ``rows`` (a boolean mask) is true."""
        lengths = np.diff(self.indptr)
        entries = np.repeat(rows, lengths)
        return ChunkTerms(
            self.vocabulary,
            np.concatenate([[0], np.cumsum(lengths[rows], dtype=np.int64)]),
            self.term_ids[entries],
            self.counts[entries],
            [title for title, keep in zip(self.titles, rows, strict=True) if keep],
            [items for items, keep in zip(self.evidence, rows, strict=True) if keep],
            self.stale + int(len(rows) - rows.sum()),
            self.spellings,
        )

    def doc_freq(self) -> dict[str, int]:
        found = np.bincount(self.term_ids, minlength=len(self.vocabulary))
        return {self.vocabulary[i]: int(found[i]) for i in np.flatnonzero(found)}

    def bm25(self) -> bm25s.BM25 | None:
        """BM25 (bm25s, Lucene's variant) over these rows, its scores computed from the kept counts."""
        import bm25s
        import scipy.sparse

        rows = len(self.indptr) - 1
        if rows == 0:
            return None
        row_of = np.repeat(np.arange(rows, dtype=np.int32), np.diff(self.indptr))
        lengths = np.bincount(row_of, weights=self.counts, minlength=rows).astype(np.float32)
        found = np.bincount(self.term_ids, minlength=len(self.vocabulary)).astype(np.float32)
        idf = np.log(1 + (rows - found + 0.5) / (found + 0.5)).astype(np.float32)
        counts = self.counts.astype(np.float32)
        saturation = counts / (K1 * ((1 - B) + B * lengths[row_of] / lengths.mean()) + counts)
        matrix = scipy.sparse.csc_matrix(
            ((idf[self.term_ids] * saturation).astype(np.float32), (row_of, self.term_ids)),
            shape=(rows, len(self.vocabulary)),
            dtype=np.float32,
        )
        model = bm25s.BM25(k1=K1, b=B)
        model.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr, "num_docs": rows}
        model.vocab_dict = {term: i for i, term in enumerate(self.vocabulary)}
        model.unique_token_ids_set = set(model.vocab_dict.values())  # what bm25s.BM25.index sets
        model.nonoccurrence_array = None  # Lucene's variant has none
        return model

    def save(self, folder: Path, revision: str) -> None:
        np.savez(folder / "terms.npz", indptr=self.indptr, term_ids=self.term_ids, counts=self.counts)
        extra = {
            "revision": revision,  # checked against the manifest: a read never mixes two saves
            "vocabulary": self.vocabulary,
            "titles": self.titles,
            "evidence": self.evidence,
            "stale": self.stale,
        }  # the spellings are in the index's manifest
        (folder / "terms.json").write_text(json.dumps(extra), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, revision: str, spellings: frozenset[str]) -> ChunkTerms:
        extra = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        if extra["revision"] != revision:
            raise ValueError("the term counts belong to another save")
        with np.load(folder / "terms.npz") as arrays:
            indptr, term_ids, counts = arrays["indptr"], arrays["term_ids"], arrays["counts"]
        if len(indptr) != len(extra["titles"]) + 1:
            raise ValueError("the term counts do not match their titles")
        evidence = [[tuple(item) for item in items] for items in extra["evidence"]]
        return cls(
            extra["vocabulary"],
            indptr,
            term_ids,
            counts,
            extra["titles"],
            evidence,
            int(extra["stale"]),
            spellings,
        )


class KeywordIndex:
    """BM25 over chunk texts (title and section included), with the alias table and term statistics."""

    def __init__(
        self,
        ids: list[str],
        bm25: bm25s.BM25 | None,
        aliases: AliasTable,
        doc_freq: dict[str, int],
        revision: str,
        analyzer: Analyzer,
        terms: ChunkTerms | None = None,
        spellings: frozenset[str] = frozenset(),
    ) -> None:
        self.ids = ids
        self.bm25 = bm25
        self.aliases = aliases
        self.doc_freq = doc_freq
        self.revision = revision
        self.analyzer = analyzer
        self.terms = terms  # kept for updates; None in a reader's copy (loaded without them)
        self.spellings = spellings  # see ChunkTerms

    @property
    def size(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stemmed term (BM25's form, never negative)."""
        n = max(self.size, 1)
        df = self.doc_freq.get(term, 0)
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def unknown_words(self, text: str, is_plain_word: Callable[[str], bool]) -> list[str]:
        """Words of ``text`` that no chunk contains and that are not ordinary words: names of
        things the corpus never mentions ("infra-Bayesianism"). Joined compounds are skipped, and so are the parts
        of a compound the pages write joined ("Lee Se-dol", where they say "Lee Sedol")."""
        unknown: list[str] = []
        for tagged in self.analyzer.word_groups(text):
            joined = next((word for word, is_joined in tagged if is_joined), None)
            if joined is not None and self.doc_freq.get(self.analyzer.stem(joined), 0):
                continue
            unknown.extend(
                word
                for word, is_joined in tagged
                if not is_joined
                and not word.isdigit()
                and self.doc_freq.get(self.analyzer.stem(word), 0) == 0
                and not is_plain_word(word)
            )
        return unknown

    def in_one_chunk(self, words: str) -> bool:
        """Whether some chunk holds every word of ``words`` (stop words aside; a hyphenated compound counts in
        either spelling: all its parts, or the joined word), from BM25's postings. Fewer than two words always
        pass."""
        wanted: list[tuple[list[str], str | None]] = []  # per word: the terms it needs, or else one joined term
        for tagged in self.analyzer.word_groups(words):
            joined = next((word for word, is_joined in tagged if is_joined), None)
            parts = [self.analyzer.stem(word) for word, is_joined in tagged if not is_joined]
            if joined is not None:
                wanted.append((parts, self.analyzer.stem(joined)))
            else:
                wanted.extend(([part], None) for part in parts)
        if sum(len(parts) for parts, _ in wanted) < 2:
            return True
        if self.bm25 is None:
            return False
        common: np.ndarray | None = None
        for parts, joined in wanted:
            found = self._chunks_with_all(parts)
            if joined is not None:
                found = np.union1d(found, self._chunks_with_all([joined]))
            common = found if common is None else np.intersect1d(common, found, assume_unique=True)
            if not len(common):
                return False
        return True

    def _chunks_with_all(self, terms: list[str]) -> np.ndarray:
        """Row numbers of the chunks holding every one of ``terms`` (sorted, unique)."""
        assert self.bm25 is not None
        scores, vocab = self.bm25.scores, self.bm25.vocab_dict
        common: np.ndarray | None = None
        for term in terms:
            if not self.doc_freq.get(term, 0):
                return np.zeros(0, dtype=np.int32)
            rows = np.unique(scores["indices"][scores["indptr"][vocab[term]] : scores["indptr"][vocab[term] + 1]])
            common = rows if common is None else np.intersect1d(common, rows, assume_unique=True)
        return common if common is not None else np.zeros(0, dtype=np.int32)

    def search_many(self, queries: Sequence[str], k: int) -> list[list[KeywordHit]]:
        """The best ``k`` BM25 matches of each query (one scoring pass for all), best first; a query
        with no indexed term matches nothing."""
        found: list[list[KeywordHit]] = [[] for _ in queries]
        if self.bm25 is None or not self.ids:
            return found
        vocab = self.bm25.vocab_dict
        asked = []
        for position, query in enumerate(queries):
            token_ids = [vocab[term] for term in self.analyzer.terms(query) if self.doc_freq.get(term, 0)]
            if token_ids:
                asked.append((position, token_ids))
        if not asked:
            return found
        k = min(k, self.size)
        documents, scores = self.bm25.retrieve(
            [token_ids for _, token_ids in asked],
            k=k,
            show_progress=False,
            n_threads=0,  # 0: no thread pool
        )
        for (position, _), row_documents, row_scores in zip(asked, documents, scores, strict=True):
            for rank, (doc, score) in enumerate(zip(row_documents, row_scores, strict=True), 1):
                if score <= 0:
                    break
                found[position].append(KeywordHit(self.ids[int(doc)], float(score), rank))
        return found

    # -- building, updating and storage --------------------------------------------------
    @classmethod
    def build(
        cls,
        records: list[Record],
        revision: str,
        analyzer: Analyzer,
        is_plain_word: Callable[[str], bool] = lambda word: False,
    ) -> KeywordIndex:
        """Index ``(chunk_id, title, text_with_prefix)`` records."""
        terms = ChunkTerms().appended(records, analyzer)
        return cls._from_terms([chunk_id for chunk_id, _, _ in records], terms, revision, analyzer, is_plain_word)

    def updated(
        self, changes: KeywordChanges, is_plain_word: Callable[[str], bool] = lambda word: False
    ) -> KeywordIndex | None:
        """This index without the ``changes.removed`` chunks and with the ``changes.added`` ones (analysed now),
        at ``changes.revision``; None when the changes do not fit this index (a removed chunk it lacks, an added
        one it has: someone else wrote meanwhile) or too many chunks were removed since it was built (see
        ``STALE_SHARE``), so that it is rebuilt instead. Needs the kept ``terms``."""
        if self.terms is None:
            raise ValueError("this keyword index was loaded without its term counts")
        removed = set(changes.removed)
        present = set(self.ids)
        kept = [chunk_id for chunk_id in self.ids if chunk_id not in removed]
        added = [chunk_id for chunk_id, _, _ in changes.added]
        if not removed <= present or len(set(added)) < len(added) or not set(added).isdisjoint(kept):
            return None
        if self.terms.stale + len(removed) > STALE_SHARE * max(len(self.ids), 1):
            return None
        rows = np.array([chunk_id not in removed for chunk_id in self.ids], dtype=bool)
        terms = self.terms.kept(rows).appended(changes.added, self.analyzer)
        ids = [*kept, *(chunk_id for chunk_id, _, _ in changes.added)]
        return self._from_terms(ids, terms, changes.revision, self.analyzer, is_plain_word)

    @classmethod
    def _from_terms(
        cls,
        ids: list[str],
        terms: ChunkTerms,
        revision: str,
        analyzer: Analyzer,
        is_plain_word: Callable[[str], bool],
    ) -> KeywordIndex:
        aliases = table_from_evidence(terms.titles, terms.evidence, is_plain_word)
        return cls(ids, terms.bm25(), aliases, terms.doc_freq(), revision, analyzer, terms, terms.spellings)

    def save(self, folder: Path) -> None:
        """Write to ``folder`` atomically (a sibling temp folder renamed into place)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(staging / "bm25"))
            if self.terms is not None:
                self.terms.save(staging, self.revision)
            manifest = {
                "format": FORMAT_VERSION,
                "revision": self.revision,
                "ids": self.ids,
                "aliases": self.aliases.to_json(),
                "doc_freq": self.doc_freq,
                "spellings": sorted(self.spellings),
            }
            (staging / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            _write_revision(staging, self.revision)
            old = staging.with_name(staging.name + ".old")
            if folder.exists():
                os.replace(folder, old)
            os.replace(staging, folder)  # fails if another process put its index there first: fine
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, analyzer: Analyzer, with_terms: bool = False) -> KeywordIndex | None:
        """The saved index, or ``None`` when there is none or it cannot be read; ``with_terms``: with what an
        update needs (a reader does without)."""
        import bm25s

        try:
            manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                return None
            bm25 = bm25s.BM25.load(str(folder / "bm25")) if manifest["ids"] else None
            aliases = AliasTable.from_json(manifest["aliases"])
            spellings = frozenset(manifest["spellings"])
            terms = ChunkTerms.load(folder, manifest["revision"], spellings) if with_terms else None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if bm25 is not None and int(bm25.scores["num_docs"]) != len(manifest["ids"]):
            return None  # read while another process replaced the folder
        if terms is not None and len(terms.titles) != len(manifest["ids"]):
            return None
        ids, doc_freq, revision = manifest["ids"], manifest["doc_freq"], manifest["revision"]
        return cls(ids, bm25, aliases, doc_freq, revision, analyzer, terms, spellings)


def keyword_folder(store: Store) -> Path:
    """Where the keyword index of ``store``'s collection lives."""
    return derived_folder(store, "keyword")


def read_all_chunks(collection: ChunkCollection, page_size: int = 5000) -> list[Record]:
    """``(id, title, prefix + text)`` of every chunk, read in pages."""
    return [
        (hit.id, str(hit.metadata.get("title", "")), f"{hit.metadata.get('prefix', '')}{hit.text}")
        for hit in collection.read_chunks(page_size)
    ]


def saved_revision(folder: Path) -> str | None:
    """The revision the keyword index saved in ``folder`` matches, read without loading it; ``None`` when there is
    none, it is of another format, or it was saved before it kept this record."""
    try:
        record = json.loads((folder / REVISION_FILE).read_text(encoding="utf-8"))
        return str(record["revision"]) if record.get("format") == FORMAT_VERSION else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_revision(folder: Path, revision: str) -> None:
    try:
        staging = folder / f".{REVISION_FILE}.{os.getpid()}"
        staging.write_text(json.dumps({"format": FORMAT_VERSION, "revision": revision}), encoding="utf-8")
        os.replace(staging, folder / REVISION_FILE)
    except OSError as exc:  # read-only, or the folder was just replaced by another process: the check reads it all
        log.debug("keyword index revision not recorded in %s: %s", folder, exc)


def keyword_index_current(store: Store, collection: ChunkCollection) -> bool:
    """Whether the saved keyword index matches ``collection`` as it is now (an ingest that changed nothing then
    leaves it alone instead of loading it to find that out)."""
    revision = collection.revision()
    return bool(revision) and saved_revision(keyword_folder(store)) == revision


def sync_keyword_index(
    store: Store,
    collection: ChunkCollection,
    analyzer: Analyzer,
    is_plain_word: Callable[[str], bool] = lambda word: False,
    changes: KeywordChanges | None = None,
) -> KeywordIndex:
    """The keyword index for ``collection``: the saved one when it matches the collection's revision; else, given
    the ``changes`` an ingest made since the saved one's revision, that one updated; else rebuilt from the
    collection."""
    folder = keyword_folder(store)
    revision = collection.revision()
    fresh = None
    if changes is not None and changes.revision == revision:
        if changes.base_revision is None:  # a new collection: everything in it was just added
            base: KeywordIndex | None = KeywordIndex([], None, AliasTable(), {}, "", analyzer, ChunkTerms())
        else:
            base = KeywordIndex.load(folder, analyzer, with_terms=True)
        if base is not None and base.revision == (changes.base_revision or ""):
            fresh = base.updated(changes, is_plain_word)  # None: the changes do not fit it, rebuild below
    if fresh is None:
        current = KeywordIndex.load(folder, analyzer)
        if current is not None and current.revision == revision:
            if saved_revision(folder) is None:  # saved by an earlier version: add the record a check reads
                _write_revision(folder, revision)
            return current
        fresh = KeywordIndex.build(read_all_chunks(collection), revision, analyzer, is_plain_word)
    try:
        fresh.save(folder)
    except OSError as exc:  # read-only data_dir, or another process saving at the same moment
        log.warning("keyword index kept in memory only (%s: %s)", folder, exc)
    return fresh

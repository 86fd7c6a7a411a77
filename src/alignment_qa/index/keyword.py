"""The keyword side of the index: BM25 over the stored chunks, the learned alias table, and which terms stand next
to each other somewhere (so a question's name can be looked up as a phrase: "Frontier Model Forum").

Both are derived from the chunk collection (``store_api.ChunkCollection``) and kept in a folder next to it
(``data_dir/keyword/<collection>``). The collection's metadata carries a ``revision`` that every
ingest changes before it writes; this folder records the revision it was built from, so a stale
or missing keyword index (an interrupted ingest, another host writing to a shared Chroma server)
is rebuilt from the collection the next time it is opened. Writes go to a temporary folder that
is renamed into place, so readers never see half an index. Dense search stays in ``store``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alignment_qa.index.aliases import AliasTable, learn_aliases
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.store_api import ChunkCollection, Store

if TYPE_CHECKING:
    import bm25s

FORMAT_VERSION = 2  # 2: adjacent term pairs (pairs.npy)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float
    rank: int


class KeywordIndex:
    """BM25 over chunk texts (title and section included), with the alias table, term statistics and the adjacent
    term pairs (``pairs``: sorted keys ``first_id * vocabulary + second_id`` of BM25's term ids)."""

    def __init__(
        self,
        ids: list[str],
        bm25: bm25s.BM25 | None,
        aliases: AliasTable,
        doc_freq: dict[str, int],
        revision: str,
        analyzer: Analyzer,
        pairs: np.ndarray | None = None,
    ) -> None:
        self.ids = ids
        self.bm25 = bm25
        self.aliases = aliases
        self.doc_freq = doc_freq
        self.revision = revision
        self.analyzer = analyzer
        self.pairs = pairs if pairs is not None else np.zeros(0, dtype=np.int64)

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
        things the corpus never mentions ("infra-Bayesianism"). Joined compounds are skipped."""
        return [
            word
            for word, joined in self.analyzer.tagged_words(text)
            if not joined
            and not word.isdigit()
            and self.doc_freq.get(self.analyzer.stem(word), 0) == 0
            and not is_plain_word(word)
        ]

    def has_phrase(self, phrase: str) -> bool:
        """Whether the words of ``phrase`` stand next to each other, in this order, somewhere in the corpus (stop
        words aside; each adjacent pair is checked, so a long phrase may pass on pairs from different places).
        A phrase of fewer than two words always passes."""
        sequence = self.analyzer.sequence(phrase)
        if len(sequence) < 2:
            return True
        if self.bm25 is None:
            return False
        vocab = self.bm25.vocab_dict
        if any(term not in vocab for term in sequence):
            return False
        ids = np.array([vocab[term] for term in sequence], dtype=np.int64)
        keys = _pair_keys(ids, len(vocab))
        found = np.searchsorted(self.pairs, keys)
        return bool(np.all((found < len(self.pairs)) & (self.pairs[np.minimum(found, len(self.pairs) - 1)] == keys)))

    def search_many(self, queries: Sequence[str], k: int) -> list[list[KeywordHit]]:
        """The best ``k`` BM25 matches of each query (one scoring pass for all), best first; a query
        with no indexed term matches nothing."""
        found: list[list[KeywordHit]] = [[] for _ in queries]
        if self.bm25 is None or not self.ids:
            return found
        vocab = self.bm25.vocab_dict
        asked = []
        for position, query in enumerate(queries):
            token_ids = [vocab[term] for term in self.analyzer.terms(query) if term in vocab]
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

    # -- building and storage ------------------------------------------------------------
    @classmethod
    def build(
        cls,
        records: list[tuple[str, str, str]],
        revision: str,
        analyzer: Analyzer,
        is_plain_word: Callable[[str], bool] = lambda word: False,
    ) -> KeywordIndex:
        """Index ``(chunk_id, title, text_with_prefix)`` records."""
        import bm25s

        ids = [chunk_id for chunk_id, _, _ in records]
        analysed = [analyzer.terms_and_sequence(text) for _, _, text in records]
        corpus = [terms for terms, _ in analysed]
        doc_freq: dict[str, int] = {}
        for terms in corpus:
            for term in set(terms):
                doc_freq[term] = doc_freq.get(term, 0) + 1
        bm25 = None
        pairs = np.zeros(0, dtype=np.int64)
        if records:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
            vocab = bm25.vocab_dict
            keys = [
                _pair_keys(np.array([vocab[term] for term in sequence], dtype=np.int64), len(vocab))
                for _, sequence in analysed
                if len(sequence) > 1
            ]
            if keys:
                pairs = np.unique(np.concatenate(keys))
        aliases = learn_aliases(((title, text) for _, title, text in records), is_plain_word)
        return cls(ids, bm25, aliases, doc_freq, revision, analyzer, pairs)

    def save(self, folder: Path) -> None:
        """Write to ``folder`` atomically (a sibling temp folder renamed into place)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(staging / "bm25"))
            np.save(staging / "pairs.npy", self.pairs)
            manifest = {
                "format": FORMAT_VERSION,
                "revision": self.revision,
                "ids": self.ids,
                "aliases": self.aliases.to_json(),
                "doc_freq": self.doc_freq,
            }
            (staging / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            old = staging.with_name(staging.name + ".old")
            if folder.exists():
                os.replace(folder, old)
            os.replace(staging, folder)  # fails if another process put its index there first: fine
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, analyzer: Analyzer) -> KeywordIndex | None:
        """The saved index, or ``None`` when there is none or it cannot be read."""
        import bm25s

        try:
            manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                return None
            bm25 = bm25s.BM25.load(str(folder / "bm25")) if manifest["ids"] else None
            aliases = AliasTable.from_json(manifest["aliases"])
            pairs = np.load(folder / "pairs.npy")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if bm25 is not None and int(bm25.scores["num_docs"]) != len(manifest["ids"]):
            return None  # read while another process replaced the folder
        return cls(manifest["ids"], bm25, aliases, manifest["doc_freq"], manifest["revision"], analyzer, pairs)


def _pair_keys(ids: np.ndarray, vocabulary: int) -> np.ndarray:
    """One int64 key per adjacent pair of term ids."""
    return ids[:-1] * vocabulary + ids[1:]


def keyword_folder(store: Store) -> Path:
    """Where the keyword index of ``store``'s collection lives."""
    settings = store.settings
    name = settings.collection
    if settings.chroma_url:
        host = settings.chroma_url.split("://", 1)[1].rstrip("/").replace(":", "_").replace("/", "_")
        name = f"{host}__{name}"
    return settings.data_dir / "keyword" / name


def read_all_chunks(collection: ChunkCollection, page_size: int = 5000) -> list[tuple[str, str, str]]:
    """``(id, title, prefix + text)`` of every chunk, read in pages."""
    return [
        (hit.id, str(hit.metadata.get("title", "")), f"{hit.metadata.get('prefix', '')}{hit.text}")
        for hit in collection.read_chunks(page_size)
    ]


def sync_keyword_index(
    store: Store,
    collection: ChunkCollection,
    analyzer: Analyzer,
    is_plain_word: Callable[[str], bool] = lambda word: False,
) -> KeywordIndex:
    """The keyword index for ``collection``, rebuilt first when it is missing or stale."""
    folder = keyword_folder(store)
    revision = collection.revision()
    current = KeywordIndex.load(folder, analyzer)
    if current is not None and current.revision == revision:
        return current
    fresh = KeywordIndex.build(read_all_chunks(collection), revision, analyzer, is_plain_word)
    try:
        fresh.save(folder)
    except OSError as exc:  # read-only data_dir, or another process saving at the same moment
        log.warning("keyword index kept in memory only (%s: %s)", folder, exc)
    return fresh

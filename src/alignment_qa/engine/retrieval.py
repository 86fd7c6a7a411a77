"""Hybrid retrieval as LlamaIndex retrievers: dense (the chunk collection) and BM25, fused.

``HybridRetriever`` leaves out the question's references to the collection itself ("according to the Atlas",
``references``), expands it with the corpus's aliases, runs both searches (and, for "X vs Y" questions, one more
pair per side), and fuses them (``retrieval.fusion``): by default each search's scores are scaled to [0, 1]
(cosines between the lowest and the best candidate, BM25 scores by the best one) and summed with the weights, so a
chunk that alone holds the question's rare word keeps its lead; or by weighted reciprocal rank,
``sum(weight / (rrf_k + rank))``. A chunk the keyword search found and the approximate dense search missed
(Chroma's HNSW graph can miss a chunk unlike the rest, such as a new page on a new topic asked about by name) joins
the dense ranking by its exact cosine. Both searches return ids and scores only; the chunks that rank best after
fusion (all, or ``retrieve_top``'s ``keep``) are then read in one request, with their vectors. Each node keeps its
cosine with the question itself (not an expansion) and its BM25 score in metadata, for the coverage check and the
UI. Merging, diversity and reranking are node postprocessors (``postprocess``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle, TextNode

from alignment_qa.engine.references import collection_names, reference_patterns, without_references
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.keyword import KeywordHit, KeywordIndex
from alignment_qa.index.store_api import ChunkCollection, SearchHit
from alignment_qa.settings import RetrievalSettings

# Metadata a language model sees in front of a passage; everything else stays hidden from it.
LLM_VISIBLE = ("title", "section")

_SIDE = r"([^?!;]{1,100}?)"  # a side: bounded, so a long question cannot make the search slow
_COMPARISON = tuple(
    re.compile(pattern.replace("(.+?)", _SIDE), re.I)
    for pattern in (
        r"\b(?:difference|differences|distinction|relationship|relation)\s+between\s+(.+?)\s+and\s+(.+)",
        r"\bcompare\s+(?!to\b|with\b)(.+?)\s+(?:and|with|to)\s+(.+)",
        # "How do a unipolar and a multipolar takeoff differ?", "In what ways are RLHF and RLAIF different?"
        r"\b(?:how|in\s+what\s+ways?)\s+(?:do|does|is|are)\s+(.+?)\s+and\s+(.+?)\s+(?:differ|different|compare)\b",
        r"^(?:is|are)\s+(.+?)\s+and\s+(.+?)\s+the\s+same\b",  # "Are superposition and polysemanticity the same?"
        # "How is a fast takeoff different from a slow takeoff?", "How does RLHF compare to Constitutional AI?"
        r"\b(?:is|are|does|do)\s+(.+?)\s+(?:differ|differs|different)\s+(?:from|to|than)\s+(.+)",
        r"\b(?:does|do|is|are)\s+(.+?)\s+(?:compare|compared)\s+(?:to|with)\s+(.+)",
        r"\bis\s+(.+?)\s+the\s+same(?:\s+thing)?\s+as\s+(.+)",
        # "What separates imitation learning from IRL?", "How to tell outer from inner alignment?"
        r"\b(?:separates?|distinguish(?:es)?|tell)\s+(?!me\b|us\b|if\b|whether\b|how\b|what\b)(.+?)\s+from\s+(.+)",
        r"(.+?)\s+(?:vs\.?|versus)\s+(.+)",
    )
)
_MODIFIER = re.compile(r"^[a-z]+(?:er|al|ive|ic|ous|ful|less|able|ible|ed|ing|ct|ong|ak|ow|ar)$")  # "outer", "weak"
_LEAD = re.compile(
    r"^(?:(?:and|so|but)\s+)?(?:what(?:'s|’s)?|how|why|is|are|does|do|explain|describe)\b"
    r"(?:\s+(?:is|are|does|do|the|a|an))*\s+",
    re.I,
)
# a side with one of these is a clause or refers back ("how is it different from …", "tell if a model is …")
_NOT_A_SIDE = frozenset(  # lower-case words only: "US" is a country
    "it its itself this that they them themselves these those me us we you i he she him her if whether what how why "
    "when does do did".split()
)
_MAX_SIDE_WORDS = 10
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
# what follows a side and is not part of it: "consultancy - which gets judges …", "X, and why?", "Y or not"
_TAIL = re.compile(
    r"\s+[-–—]\s.*$|\s*[,;:(].*$|\s+(?:(?:and|or|but)\s+)?(?:which|when|why|how)\b.*$|\s+or\s+not\b.*$|"
    r"\s+in\s+terms\s+of\b.*$",
    re.I,
)


@lru_cache(maxsize=256)
def comparison_sides(question: str) -> tuple[str, str] | None:
    """The two sides of a comparison question, or ``None``.

    "outer vs inner alignment" gives ("outer alignment", "inner alignment"): a one-word side that
    looks like a modifier (outer, weak, direct, ...) borrows the rest of the other side when that
    starts with one too. A side keeps only the words next to the comparison: "In activation
    patching, what's the clean vs corrupted input?" gives ("clean", "corrupted input"). A
    side that is a clause, a pronoun or longer than ten words means no comparison was read.
    """
    text = question.strip().rstrip("?.! ")
    for pattern in _COMPARISON:
        match = pattern.search(text)
        if match:
            left = _LEAD.sub("", re.split(r"[,;:?.]\s+", match.group(1))[-1]).strip(" ,:")
            right = _TAIL.sub("", match.group(2)).strip(" ,:")
            left_words, right_words = _ARTICLE.sub("", left).split(), _ARTICLE.sub("", right).split()
            for words in (left_words, right_words):
                if (
                    not words
                    or len(words) > _MAX_SIDE_WORDS
                    or {word.lower() for word in words if not word.isupper()} & _NOT_A_SIDE
                ):
                    return None
            if (
                len(left_words) == 1
                and len(right_words) > 1
                and _MODIFIER.match(left_words[0])
                and _MODIFIER.match(right_words[0])
            ):
                return " ".join([left_words[0], *right_words[1:]]), " ".join(right_words)
            return left, right
    return None


def node_from_hit(hit: SearchHit, dense: float | None = None, keyword: float | None = None) -> TextNode:
    """A LlamaIndex node for a stored chunk; only title and section are shown to an LLM."""
    meta: dict[str, Any] = dict(hit.metadata)
    meta["spans"] = [[0, int(meta.get("start", 0)), int(meta.get("end", 0))]]
    # where a caption's rest opens the text (a chunk cut inside a caption line): those sentences are no claims
    meta["caption_openings"] = [0] if meta.pop("opens_in_caption", False) else []
    meta["chunk_ids"] = [hit.id]
    meta["dense_score"] = dense
    meta["keyword_score"] = keyword
    node = TextNode(id_=hit.id, text=hit.text, metadata=meta)
    hide_from_llm(node)
    return node


def hide_from_llm(node: BaseNode) -> BaseNode:
    """Show only title and section to a language model (and nothing to an embedding model);
    call again after changing metadata."""
    node.excluded_llm_metadata_keys = [key for key in node.metadata if key not in LLM_VISIBLE]
    node.excluded_embed_metadata_keys = list(node.metadata)
    return node


@dataclass
class _Ranked:
    score: float = 0.0
    dense: float | None = None
    keyword: float | None = None


_KEEP: ContextVar[int | None] = ContextVar("alignment_qa_retrieval_keep", default=None)
SPARE = 8  # chunks read beyond ``keep``, standing in for any deleted since the vector or keyword index was loaded


class HybridRetriever(BaseRetriever):
    """Dense plus BM25 retrieval over one collection, fused by scaled scores or by weighted reciprocal rank."""

    def __init__(
        self,
        collection: ChunkCollection,
        embedder: Embedder,
        keyword_index: KeywordIndex,
        settings: RetrievalSettings,
        callback_manager: CallbackManager | None = None,
    ) -> None:
        super().__init__(callback_manager=callback_manager or CallbackManager([]))
        self.collection = collection
        self.embedder = embedder
        self.keyword_index = keyword_index
        self.settings = settings
        self._references = reference_patterns(sorted(collection_names(keyword_index)))

    def searched(self, question: str) -> str:
        """``question`` as it is searched and scored: less its references to the collection itself ("according to
        the Atlas,"; ``references``), with the name of a part of the book it refers to by number ("What does chapter
        8 (Scalable Oversight) cover?"; ``AliasTable.named_parts``, when ``aliases`` is on)."""
        bare = without_references(question, self._references, self.keyword_index)
        return self.keyword_index.aliases.named_parts(bare) if self.settings.aliases else bare

    def expand(self, question: str) -> str:
        """The question with alias expansions, and the names of the parts of the book it refers to by number (a
        comparison's side, "chapter 7"), when enabled."""
        aliases = self.keyword_index.aliases
        return aliases.expand(aliases.named_parts(question)) if self.settings.aliases else question

    def queries(self, question: str) -> list[tuple[str, float]]:
        """The searches to run, with their fusion weights: the question itself, then (at
        ``expansion_weight``) the question with aliases and each side of a comparison."""
        weight = self.settings.expansion_weight
        question = self.searched(question)
        queries = [(question, 1.0)]
        expanded = self.expand(question)
        if expanded != question:
            queries.append((expanded, weight))
        sides = comparison_sides(question) if self.settings.split_comparisons else None
        for side in sides or ():
            queries.append((self.expand(_ARTICLE.sub("", side)), weight))  # "the US one" searched as "US one"
        return queries

    def retrieve_top(self, query_bundle: QueryBundle, keep: int) -> list[NodeWithScore]:
        """``retrieve``, keeping only the ``keep`` best fused chunks: only those are read from the store."""
        token = _KEEP.set(keep)
        try:
            return self.retrieve(query_bundle)
        finally:
            _KEEP.reset(token)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        queries = self.queries(query_bundle.query_str)
        vectors = self.embedder.encode([text for text, _ in queries])
        query_bundle.embedding = vectors[0].tolist()  # the answer step reuses it
        fused: dict[str, _Ranked] = {}
        k = self.settings.candidates
        dense_weight, bm25_weight = self.settings.fusion_weights()
        weights = [weight for _, weight in queries]
        keyword_hits = self.keyword_index.search_many([text for text, _ in queries], k) if bm25_weight > 0 else []
        if dense_weight > 0:  # one request for every query's nearest chunks, ids and scores only
            nearest = self.collection.search_many(list(vectors), k, with_text=False)
            nearest = self._with_missed(nearest, keyword_hits, vectors, k)
            for position, (weight, hits) in enumerate(zip(weights, nearest, strict=True)):
                shares = self._shares([hit.score for hit in hits], [hit.rank for hit in hits], lowest=None)
                for hit, share in zip(hits, shares, strict=True):
                    entry = fused.setdefault(hit.id, _Ranked())
                    entry.score += weight * dense_weight * share
                    if position == 0:  # similarity with the question itself, not an expansion
                        entry.dense = hit.score
        if bm25_weight > 0:  # one BM25 pass for every query
            for weight, row in zip(weights, keyword_hits, strict=True):
                shares = self._shares([found.score for found in row], [found.rank for found in row], lowest=0.0)
                for found, share in zip(row, shares, strict=True):
                    entry = fused.setdefault(found.chunk_id, _Ranked())
                    entry.score += weight * bm25_weight * share
                    entry.keyword = max(entry.keyword or 0.0, found.score)
        keep = _KEEP.get()
        ranked = sorted(fused.items(), key=lambda item: -item[1].score)
        if keep is not None:  # a few more, in case some were deleted since the indexes were loaded
            ranked = ranked[: keep + SPARE]
        loaded = self.collection.get_chunks([chunk_id for chunk_id, _ in ranked], with_vectors=True)  # one read
        nodes = []
        for chunk_id, entry in ranked:
            chunk = loaded.get(chunk_id)
            if chunk is None:
                continue  # deleted since the vector or keyword index was loaded
            dense = entry.dense
            if dense is None and chunk.vector is not None:  # found by keywords or an expansion only
                dense = float(np.dot(chunk.vector, vectors[0]))
            nodes.append(NodeWithScore(node=node_from_hit(chunk, dense, entry.keyword), score=entry.score))
        return nodes[:keep]

    def _shares(self, scores: Sequence[float], ranks: Sequence[int], lowest: float | None) -> list[float]:
        """What each hit of one search adds to fusion, before the weights: for convex fusion its score scaled to
        [0, 1] between ``lowest`` (None: the lowest score among the hits) and the best; for rrf 1 / (rrf_k + rank).
        """
        if self.settings.fusion == "rrf":
            return [1.0 / (self.settings.rrf_k + rank) for rank in ranks]
        if not scores:
            return []
        top, floor = max(scores), min(scores) if lowest is None else lowest
        if top <= floor:
            return [1.0] * len(scores)  # one hit, or all alike
        return [(score - floor) / (top - floor) for score in scores]

    def _with_missed(
        self, nearest: list[list[SearchHit]], keyword_hits: list[list[KeywordHit]], vectors: np.ndarray, k: int
    ) -> list[list[SearchHit]]:
        """Each query's dense ranking with the chunks the keyword searches found but the approximate dense search
        missed, placed by their exact cosine (one read of their vectors) and cut to ``k``. The approximate search
        can miss a chunk unlike the rest of the collection, such as a page on a new topic ("the Zorblax
        Protocol"), however close it is to the question."""
        found = {hit.id for hits in nearest for hit in hits}
        keyword_ids = (item.chunk_id for row in keyword_hits for item in row)
        stored = self.collection.vectors([chunk_id for chunk_id in dict.fromkeys(keyword_ids) if chunk_id not in found])
        if not stored:
            return nearest
        ids = list(stored)
        cosines = np.stack([stored[chunk_id] for chunk_id in ids]) @ np.asarray(vectors).T  # chunks x queries
        ranked = []
        for position, hits in enumerate(nearest):
            scored = [(hit.score, hit.id) for hit in hits]
            scored += [(float(cosine), chunk_id) for chunk_id, cosine in zip(ids, cosines[:, position], strict=True)]
            best = sorted(scored, key=lambda item: -item[0])[:k]
            ranked.append([SearchHit(chunk_id, rank, score, "", {}) for rank, (score, chunk_id) in enumerate(best, 1)])
        return ranked

"""Node postprocessors between retrieval and answering: rerank, merge neighbours, diversify.

- ``build_reranker`` loads an optional cross-encoder by name or folder (LlamaIndex's
  ``SentenceTransformerRerank``); none ships here, so it is off by default.
- ``AdjacentChunkMerger`` joins chunks that follow each other in the same section of a page into
  one passage; the passage keeps a span list mapping its text back to page offsets.
- ``PageDiversity`` keeps at most N passages per page and the best ``top_k`` overall, so a
  question that spans pages sees several of them; a page's navigation section (links, "See also")
  comes last.
"""

from __future__ import annotations

import re
from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import BaseNode, NodeWithScore, QueryBundle, TextNode

from alignment_qa.engine.retrieval import hide_from_llm
from alignment_qa.errors import ModelLoadError

# Text put between two merged chunks (their gap in the page is whitespace or a heading).
JOINER = "\n\n"


def build_reranker(model: str, top_n: int, device: str) -> BaseNodePostprocessor:
    """A cross-encoder reranker; ``ModelLoadError`` when the model cannot be loaded."""
    from llama_index.core.postprocessor import SentenceTransformerRerank

    try:
        return SentenceTransformerRerank(
            model=model, top_n=top_n, device=device, keep_retrieval_score=True, trust_remote_code=False
        )
    except Exception as exc:  # missing folder, no network for a hub name, bad config
        raise ModelLoadError(
            f"cannot load reranker '{model}': {exc}. Give a local cross-encoder folder or a "
            "model name that can be downloaded, or leave retrieval.rerank_model empty."
        ) from exc


def _key(node: TextNode) -> tuple[str, str, str]:
    """The section a chunk belongs to: two sections may share a heading ("Introduction" twice), not an anchor."""
    meta = node.metadata
    return str(meta.get("page_id")), str(meta.get("section_path")), str(meta.get("anchor", ""))


def merge_nodes(first: NodeWithScore, second: NodeWithScore) -> NodeWithScore:
    """One passage from two neighbouring chunks (``second`` follows ``first`` in the page)."""
    a, b = first.node, second.node
    assert isinstance(a, TextNode) and isinstance(b, TextNode)
    offset = len(a.text) + len(JOINER)
    spans = [list(span) for span in a.metadata["spans"]]
    spans.extend([span[0] + offset, span[1], span[2]] for span in b.metadata["spans"])
    meta: dict[str, Any] = dict(a.metadata)
    meta.update(
        spans=spans,
        chunk_ids=[*a.metadata["chunk_ids"], *b.metadata["chunk_ids"]],
        caption_openings=[
            *a.metadata.get("caption_openings", []),
            *(opening + offset for opening in b.metadata.get("caption_openings", [])),
        ],
        end=b.metadata["end"],
        last_chunk_index=b.metadata.get("last_chunk_index", b.metadata["chunk_index"]),
        dense_score=_max(a.metadata.get("dense_score"), b.metadata.get("dense_score")),
        keyword_score=_max(a.metadata.get("keyword_score"), b.metadata.get("keyword_score")),
    )
    node = TextNode(id_=a.node_id, text=a.text + JOINER + b.text, metadata=meta)
    hide_from_llm(node)
    return NodeWithScore(node=node, score=max(first.score or 0.0, second.score or 0.0))


def _max(a: float | None, b: float | None) -> float | None:
    values = [value for value in (a, b) if value is not None]
    return max(values) if values else None


class AdjacentChunkMerger(BaseNodePostprocessor):
    """Join retrieved chunks that are neighbours in the same section (at most ``max_chunks`` in
    one passage); keeps the ranking order."""

    max_chunks: int = Field(default=3)

    @classmethod
    def class_name(cls) -> str:
        return "AdjacentChunkMerger"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        merged: list[NodeWithScore] = []
        for item in nodes:
            node = item.node
            index = int(node.metadata.get("chunk_index", -1))
            for position, kept in enumerate(merged):
                kept_node = kept.node
                if _key(kept_node) != _key(node) or len(kept_node.metadata["chunk_ids"]) >= self.max_chunks:  # type: ignore[arg-type]
                    continue
                first_index = int(kept_node.metadata["chunk_index"])
                last_index = int(kept_node.metadata.get("last_chunk_index", first_index))
                if index == last_index + 1:
                    merged[position] = merge_nodes(kept, item)
                    break
                if index == first_index - 1:
                    joined = merge_nodes(item, kept)
                    joined.score = max(kept.score or 0.0, item.score or 0.0)
                    merged[position] = joined
                    break
            else:
                merged.append(item)
        return merged


_NAVIGATION = re.compile(
    r"related(?: (?:concepts|pages|topics|articles|agendas|entries|links))?|see also|further reading|references"
    r"|bibliography|external links|links|sources|footnotes",
    re.IGNORECASE,
)


def is_navigation(node: BaseNode) -> bool:
    """Whether the passage is a page's navigation section ("Related concepts", "See also", "References"): links
    and titles, which name a topic without saying anything about it."""
    path = str(node.metadata.get("section") or "").split(">")
    return any(_NAVIGATION.fullmatch(heading.strip()) for heading in path)


class PageDiversity(BaseNodePostprocessor):
    """At most ``per_page`` passages from one page, ``top_k`` in all, best first; a navigation section only
    when too few other passages are left (``is_navigation``)."""

    per_page: int = Field(default=3)
    top_k: int = Field(default=5)

    @classmethod
    def class_name(cls) -> str:
        return "PageDiversity"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        counts: dict[str, int] = {}
        kept: list[NodeWithScore] = []
        for item in sorted(nodes, key=lambda item: is_navigation(item.node)):  # stable: best first otherwise
            page = str(item.node.metadata.get("page_id"))
            if counts.get(page, 0) >= self.per_page:
                continue
            counts[page] = counts.get(page, 0) + 1
            kept.append(item)
            if len(kept) >= self.top_k:
                break
        return kept

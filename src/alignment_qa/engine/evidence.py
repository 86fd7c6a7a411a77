"""Evidence-only answers: pick the source sentences that best answer the question, verbatim.

Each candidate sentence of the retrieved passages is scored by IDF-weighted overlap with the
question's terms; the best ``prefilter`` are embedded and scored again by cosine with the
question. The final score blends both with a small bonus for higher-ranked passages. Sentences
are then chosen greedily, skipping near-duplicates and favouring other passages (diversity),
and stopping when they get much weaker than the best. The chosen sentences are ordered by
passage, then by position in the page, so the answer reads in the sources' own order. No
paraphrase, so nothing is claimed that the sources do not say. Questions, headings and lines
that introduce a list are never quoted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from llama_index.core.schema import NodeWithScore

from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.ingest.chunk import split_sentences

MIN_WORDS = 6
_LIST_MARK = re.compile(r"(?:[-*•]|\d{1,2}[.)])\s+")
MAX_CHARS = 600
HEADING_WORDS = 12  # a shorter line without final punctuation is a heading or a label, not a claim
_HEADING_LIKE = re.compile(r"^(?:Definition|Figure|Table|Source|Sources|Related pages?)\b[^.]*$", re.I)


@dataclass(frozen=True)
class Evidence:
    """A sentence chosen from passage ``passage`` (index into the retrieved list)."""

    passage: int
    text: str
    start: int  # offsets in the page's cleaned text
    end: int
    score: float
    cosine: float


def page_offset(spans: Sequence[Sequence[int]], offset: int) -> int:
    """Map an offset in a (possibly merged) passage's text to an offset in its page."""
    for text_offset, page_start, page_end in reversed([tuple(span) for span in spans]):
        if offset >= text_offset:
            return min(page_start + (offset - text_offset), page_end)
    return int(spans[0][1])


def candidate_sentences(passages: Sequence[NodeWithScore]) -> list[tuple[int, str, int, int]]:
    """``(passage index, sentence, page start, page end)`` for sentences worth quoting."""
    found = []
    for index, item in enumerate(passages):
        text = item.node.get_content()
        spans = item.node.metadata["spans"]
        for start, end in split_sentences(text, 0, len(text)):
            mark = _LIST_MARK.match(text, start, end)
            if mark:
                start = mark.end()  # quote the list item, not its bullet
            sentence = text[start:end]
            if (
                len(sentence.split()) < MIN_WORDS
                or len(sentence) > MAX_CHARS
                or sentence.endswith((":", "?"))
                or (len(sentence.split()) < HEADING_WORDS and sentence[-1].isalnum())
                or _HEADING_LIKE.match(sentence)
            ):
                continue
            found.append((index, sentence, page_offset(spans, start), page_offset(spans, end)))
    return found


def select_evidence(
    question: str,
    question_vector: np.ndarray,
    passages: Sequence[NodeWithScore],
    embedder: Embedder,
    analyzer: Analyzer,
    idf: Callable[[str], float],
    max_sentences: int,
    prefilter: int = 16,
) -> list[Evidence]:
    """The sentences to quote, in reading order."""
    candidates = candidate_sentences(passages)
    if not candidates:
        return []
    wanted = analyzer.term_set(question)
    total = sum(idf(term) for term in wanted) or 1.0
    lexical = []
    for _, sentence, _, _ in candidates:
        present = analyzer.term_set(sentence)
        lexical.append(sum(idf(term) for term in wanted if term in present) / total)
    rank_bonus = [0.1 / (1 + index) for index, _, _, _ in candidates]
    order = sorted(range(len(candidates)), key=lambda i: -(lexical[i] + rank_bonus[i]))[:prefilter]
    vectors = embedder.encode([candidates[i][1] for i in order])
    cosines = vectors @ question_vector
    scored = []
    for position, i in enumerate(order):
        cosine = float(cosines[position])
        score = 0.6 * cosine + 0.4 * lexical[i] + rank_bonus[i] / 2
        scored.append((score, cosine, i, vectors[position]))
    scored.sort(key=lambda item: -item[0])

    chosen: list[tuple[float, float, int, np.ndarray]] = []
    best = scored[0][0]
    for score, cosine, i, vector in scored:
        if len(chosen) >= max_sentences:
            break
        if chosen and score < 0.6 * best:
            break
        if any(float(vector @ other[3]) > 0.9 for other in chosen):
            continue  # says the same as a chosen sentence
        same_passage = sum(1 for other in chosen if candidates[other[2]][0] == candidates[i][0])
        if same_passage >= 2 and len({candidates[c[2]][0] for c in scored}) > 1:
            continue  # leave room for other sources
        chosen.append((score, cosine, i, vector))

    first_pick: dict[int, int] = {}
    for rank, (_, _, i, _) in enumerate(chosen):
        first_pick.setdefault(candidates[i][0], rank)
    chosen.sort(key=lambda item: (first_pick[candidates[item[2]][0]], candidates[item[2]][2]))
    return [
        Evidence(candidates[i][0], candidates[i][1], candidates[i][2], candidates[i][3], score, cosine)
        for score, cosine, i, _ in chosen
    ]

"""Evidence-only answers: pick the source sentences that best answer the question, verbatim.

Every quotable sentence of the retrieved passages is scored: cosine between its own vector and
the question's (vectors come from ``SentenceVectors``, a bounded in-memory cache keyed by the
sentence's hash, so a passage seen before costs nothing), IDF-weighted overlap with the
question's terms, the rank of its passage, and whether it carries the kind of token the question
asks for (a year, a count, a share, a name: ``answer_type``). The weights were fitted on the
``tune`` questions (a logistic regression, see ``WEIGHTS``). The answer leads with the best sentence
and adds the next ones only while they score close to it, skipping near-duplicates and the
sentences an earlier answer in the conversation already quoted. No paraphrase, so nothing is
claimed that the sources do not say. Questions, headings, figure captions, reference-list
entries, link lists, lines that introduce a list and sentences addressed to a language model
("ignore previous instructions …", see ``injection``) are never quoted. Deciding whether the
pages cover the question at all is left to ``abstain``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from llama_index.core.schema import NodeWithScore

from alignment_qa.engine.answer_type import AnswerType, carries
from alignment_qa.engine.injection import is_instruction
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.vector_cache import SentenceVectors
from alignment_qa.ingest.chunk import split_sentences

MIN_WORDS = 6
_LIST_MARK = re.compile(r"(?:[-*•]|\d{1,2}[.)])\s+")
MAX_CHARS = 600
HEADING_WORDS = 12  # a shorter line without final punctuation is a heading or a label, not a claim
_HEADING_LIKE = re.compile(r"^(?:Definition|Figure|Table|Source|Sources|Related pages?)\b[^.]*$", re.I)
# "Figure 4.12: Announced AI Safety Institutes (…)": a caption, not a claim
_CAPTION = re.compile(r"^(?:Figure|Fig\.|Table|Image|Chart|Diagram|Video|Box)\s*[A-Z]?\d+(?:[.-]\d+)*\s*[:.—–-]", re.I)
# "Hubinger, E., van Merwijk, C., … (2019). Risks from …", "Footnote 4: Wiener, N. (1960).", a bare quoted
# title ("Some Moral and Technical Consequences of Automation."), a line with a URL: reference-list material
_REFERENCE = re.compile(
    r"^(?:[A-Z][\w'’-]+,\s+(?:[A-Z]\.\s?)+,?\s*(?:&|and)?\s*)+|^(?:Footnote\s+\d+|\[\^?\w+\])\s*:|"
    r"^[\"“][^\"”]+[\"”]\.?$|https?://|\bRetrieved from\b"
)
# "- specification-gaming — the outer-alignment failure mode.", "rlhf, constitutional-ai — …": a list of page slugs
_SLUG_ITEM = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:\s*,\s*[a-z0-9]+(?:-[a-z0-9]+)*)*\s+[—–]\s")
_RELATED = re.compile(r"^(?:Related|See also|Further reading|References|Bibliography)\b", re.I)

# Score weights: cosine, term overlap, passage rank (1 / (1 + rank)), answer-type match, first sentence of
# its passage: a logistic regression on the tune split (is this sentence a gold evidence sentence?), scaled
# so the cosine weighs 0.6.
WEIGHTS = (0.6, 0.534, 0.541, 0.234, 0.101)
DUPLICATE_COSINE = 0.9
SAME_PASSAGE_MAX = 3


@dataclass(frozen=True)
class Evidence:
    """A sentence chosen from passage ``passage`` (index into the retrieved list)."""

    passage: int
    text: str
    start: int  # offsets in the page's cleaned text
    end: int
    score: float
    cosine: float


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its features and score."""

    passage: int
    text: str
    start: int
    end: int
    position: int  # index among its passage's quotable sentences
    cosine: float
    overlap: float
    typed: bool  # carries the token the question asks for
    score: float
    vector: np.ndarray


def page_offset(spans: Sequence[Sequence[int]], offset: int) -> int:
    """Map an offset in a (possibly merged) passage's text to an offset in its page."""
    for text_offset, page_start, page_end in reversed([tuple(span) for span in spans]):
        if offset >= text_offset:
            return min(page_start + (offset - text_offset), page_end)
    return int(spans[0][1])


def _title_like(sentence: str) -> bool:
    """A short line whose longer words are nearly all capitalised: a book or section title, not a claim."""
    words = [word for word in sentence.split() if len(word) > 3]
    if len(sentence.split()) > 16 or len(words) < 3:
        return False
    return sum(word[:1].isupper() for word in words) >= 0.75 * len(words)


def quotable(sentence: str) -> bool:
    """Whether ``sentence`` reads as a claim: not a heading, caption, reference, link list or instruction."""
    return not (
        len(sentence.split()) < MIN_WORDS
        or len(sentence) > MAX_CHARS
        or sentence.endswith((":", "?"))
        or (len(sentence.split()) < HEADING_WORDS and sentence[-1].isalnum())
        or _HEADING_LIKE.match(sentence)
        or _CAPTION.match(sentence)
        or _REFERENCE.search(sentence)
        or _SLUG_ITEM.match(sentence)
        or _RELATED.match(sentence)
        or _title_like(sentence)
        or is_instruction(sentence)
    )


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
            if quotable(sentence):
                found.append((index, sentence, page_offset(spans, start), page_offset(spans, end)))
    return found


def score_sentences(
    question: str,
    question_vector: np.ndarray,
    passages: Sequence[NodeWithScore],
    vectors: SentenceVectors,
    analyzer: Analyzer,
    idf: Callable[[str], float],
    kind: AnswerType | None = None,
    weights: Sequence[float] = WEIGHTS,
) -> list[Scored]:
    """Every quotable sentence of ``passages``, best first."""
    candidates = candidate_sentences(passages)
    if not candidates:
        return []
    wanted = analyzer.term_set(question)
    total = sum(idf(term) for term in wanted) or 1.0
    encoded = vectors.encode([sentence for _, sentence, _, _ in candidates])
    cosines = encoded @ np.asarray(question_vector, dtype=np.float32)
    w_cos, w_lex, w_rank, w_type, w_first = weights
    scored = []
    positions: dict[int, int] = {}
    for row, (index, sentence, start, end) in enumerate(candidates):
        position = positions.get(index, 0)
        positions[index] = position + 1
        present = analyzer.term_set(sentence)
        overlap = sum(idf(term) for term in wanted if term in present) / total
        typed = kind is not None and carries(sentence, kind)
        cosine = float(cosines[row])
        score = w_cos * cosine + w_lex * overlap + w_rank / (1 + index) + w_type * typed + w_first * (position == 0)
        scored.append(Scored(index, sentence, start, end, position, cosine, overlap, typed, score, encoded[row]))
    scored.sort(key=lambda item: -item.score)
    return scored


def choose(
    scored: Sequence[Scored],
    max_sentences: int,
    keep_ratio: float,
    already_said: Callable[[str], bool] = lambda sentence: False,
) -> list[Evidence]:
    """The sentences to quote, best first: the best one, then the next while they score at least
    ``keep_ratio`` of it, skipping near-duplicates, what ``already_said`` says was quoted before,
    and a third sentence from one passage while other passages have candidates."""
    fresh = [item for item in scored if not already_said(item.text)]
    if not fresh:
        return []
    best = fresh[0].score
    passages = {item.passage for item in fresh}
    chosen: list[Scored] = []
    for item in fresh:
        if len(chosen) >= max_sentences or (chosen and item.score < keep_ratio * best):
            break
        if any(float(item.vector @ other.vector) > DUPLICATE_COSINE for other in chosen):
            continue  # says the same as a chosen sentence
        if len(passages) > 1 and sum(other.passage == item.passage for other in chosen) >= SAME_PASSAGE_MAX:
            continue  # leave room for other sources
        chosen.append(item)
    return [Evidence(item.passage, item.text, item.start, item.end, item.score, item.cosine) for item in chosen]

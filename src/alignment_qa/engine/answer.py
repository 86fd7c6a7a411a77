"""The ``Answer``: the one JSON contract every surface (CLI, UI, API, Discord, eval) shares.

Stable keys: ``text``, ``mode``, ``notice``, ``citations`` (``n``, ``page_id``, ``title``,
``section``, ``url``, ``quote``, ``start``, ``end``), ``sentences`` (``text``, ``citations``,
``supported``, ``score``), ``retrieved`` (``page_id``, ``section``, ``score``, ``rank``) and
``timings_ms``. Other keys may be added, never renamed or removed. Offsets are character
offsets into the page's cleaned text. Building answers is left to ``assistant``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from alignment_qa.settings import Mode as Mode  # declared once, in settings; re-exported for the engine's callers


class Citation(BaseModel):
    """A numbered source of an answer and the passage that supports it."""

    n: int = Field(description="The number used in the answer text, [n]; 1-based, in order of first use.")
    page_id: str
    title: str
    section: str = Field(description="Section path, 'Page > Section > Subsection'.")
    anchor: str = Field("", description="Anchor of the section on the page (without '#').")
    url: str = Field("", description="The page's source URL, or '' when the page has none.")
    quote: str = Field(description="The supporting passage, verbatim from the page.")
    start: int = Field(description="Offset of the quote in the page's cleaned text.")
    end: int
    chunk_id: str = ""


class SentenceVerdict(BaseModel):
    """One sentence of the answer and whether its citations support it."""

    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool
    score: float = Field(description="Support score of the cited passages for this sentence (0-1).")
    invalid_citations: list[int] = Field(
        default_factory=list, description="Numbers written in this sentence that point to no source (removed)."
    )
    reason: str = Field(
        "",
        description="Why the sentence is not supported, when the judge can say (e.g. '2019 in the claim, 2021 in "
        "the passage'); '' for a supported sentence.",
    )


class RetrievedPassage(BaseModel):
    """A passage the engine retrieved, cited or not."""

    page_id: str
    title: str = ""
    section: str
    score: float = Field(
        description="Retrieval score, higher is better: the fused rank score, or the cross-encoder's "
        "score when reranking."
    )
    rank: int
    dense_score: float | None = Field(
        None, description="Cosine similarity with the question, when dense search found it."
    )
    keyword_score: float | None = Field(None, description="BM25 score, when keyword search found it.")
    url: str = ""
    anchor: str = ""
    chunk_ids: list[str] = Field(default_factory=list)
    start: int = 0
    end: int = 0
    text: str = ""
    cited: bool = False


NEAREST_LEAD = " The nearest pages are: "  # what a decline's text adds before its list of nearest pages
NEAREST_PAGES = 3  # how many pages a decline names


class Answer(BaseModel):
    """An answer with its citations, per-sentence verdicts, retrieved passages and timings."""

    question: str
    standalone_question: str = Field(description="The question after rewriting a follow-up.")
    text: str
    mode: Mode
    top_k: int | None = Field(None, description="Passages asked for (retrieval.top_k) when this answer was written.")
    notice: str = Field("", description="Something the reader must know, e.g. a fallback to quoted evidence.")
    covered: bool = Field(True, description="False when the corpus does not cover the question.")
    citations: list[Citation] = Field(default_factory=list)
    sentences: list[SentenceVerdict] = Field(default_factory=list)
    retrieved: list[RetrievedPassage] = Field(default_factory=list)
    dropped_citations: list[int] = Field(
        default_factory=list, description="Citation numbers in the generated text that pointed to no source."
    )
    judge: str = Field("", description="The support judge that checked the sentences, by name.")
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @property
    def unsupported(self) -> list[SentenceVerdict]:
        return [sentence for sentence in self.sentences if not sentence.supported]

    @property
    def shown_text(self) -> str:
        """``text`` for a surface that lists the nearest pages of a decline itself (as links): without the
        sentence naming them."""
        return self.text if self.covered or not self.retrieved else self.text.split(NEAREST_LEAD, 1)[0]

    @property
    def nearest_pages(self) -> list[RetrievedPassage]:
        """For a decline, ``nearest_pages(retrieved)``; [] for a covered answer."""
        return [] if self.covered else nearest_pages(self.retrieved)


def nearest_pages(retrieved: Sequence[RetrievedPassage]) -> list[RetrievedPassage]:
    """The best retrieved passage of each of the ``NEAREST_PAGES`` nearest pages (two passages of one page are one
    entry), best first."""
    best: dict[str, RetrievedPassage] = {}
    for passage in retrieved:
        best.setdefault(passage.page_id, passage)
    return list(best.values())[:NEAREST_PAGES]


@dataclass(frozen=True)
class TokenEvent:
    """A piece of generated text, while an LLM streams."""

    text: str


@dataclass(frozen=True)
class StatusEvent:
    """A progress message ("searching", "falling back to quoted evidence", ...)."""

    text: str


@dataclass(frozen=True)
class AnswerEvent:
    """The final answer; always the last event. Its text supersedes the streamed tokens."""

    answer: Answer


StreamEvent = TokenEvent | StatusEvent | AnswerEvent

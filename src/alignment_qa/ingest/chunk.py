"""Split a clean page into chunks that fit the embedding model's window.

Sections are never mixed: each section's sentences are packed into chunks of balanced size,
counted with the embedding model's own tokenizer, title/section prefix and special tokens
included, so the model never truncates a chunk. A sentence longer than the window is split at
word boundaries. Every chunk keeps its character offsets into ``CleanPage.text``. Embedding is
left to ``index.embedder``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from alignment_qa.ingest.clean import CleanPage, Section


class TokenCounter(Protocol):
    """What the chunker needs from a tokenizer."""

    @property
    def special_tokens(self) -> int:
        """Tokens the model adds to every input (e.g. [CLS] and [SEP])."""
        ...

    def count(self, texts: Sequence[str]) -> list[int]:
        """Word-pieces in each text, special tokens excluded."""
        ...


@dataclass(frozen=True)
class Chunk:
    """A piece of a page: what is embedded, and where it sits in the clean page."""

    index: int
    text: str
    prefix: str
    start: int
    end: int
    section_path: tuple[str, ...]
    anchor: str
    tokens: int
    opens_in_caption: bool = False  # it starts inside a caption line: its first line is the caption's rest

    @property
    def embed_text(self) -> str:
        """The exact text given to the embedding model."""
        return self.prefix + self.text

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()[:16]


_ABBREVIATIONS = frozenset(
    (
        "e.g i.e etc al vs cf fig figs eq eqs no nos dr mr mrs ms prof st jr sr approx ch sec vol pp p ca "
        "inc ltd co jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k ph.d resp"
    ).split()
)
# a match starts only where a run of stops starts, and does not give back what it took: "......" without a space
# after it was tried from each of its dots, to its end (quadratic time)
_BOUNDARY = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+\s+")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]+[\"'”’)\]]*\s+$")
_WORD_WINDOW = 40  # characters before a stop in which its word is read (abbreviations are short)
# "… human values. (OpenAI, 2023) A prime example …": a citation after the stop still belongs to the sentence it
# cites, and the next sentence starts after it (a year or "et al" inside brackets, then a capital; not a sentence
# of its own in brackets, "(In 1984 Orwell wrote a book.)")
_CITATION_AFTER = re.compile(
    r"\((?=[^()\n]{0,200}?(?:\b(?:1[5-9]|20)\d\d[a-z]?\b|\bet al\b))[^()\n]{1,200}(?<![.!?])\)\s+(?=[A-Z0-9\"'“‘\[])"
)


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text[start:end]``, whitespace trimmed.

    Line breaks always end a sentence (clean text puts list items and table rows on lines).
    """
    spans: list[tuple[int, int]] = []
    line_start = start
    for line in text[start:end].split("\n"):
        line_end = line_start + len(line)
        piece_start = line_start
        for match in _BOUNDARY.finditer(text, line_start, line_end):
            follower = text[match.end()] if match.end() < line_end else ""
            cited = _CITATION_AFTER.match(text, match.end(), line_end) if follower == "(" else None
            if not cited and (not follower or not (follower.isupper() or follower.isdigit() or follower in "\"'“‘[-")):
                continue
            # the word right before the stop, looked for only just before it: from ``piece_start`` every skipped
            # abbreviation would rescan the sentence so far ("e.g. A e.g. A …" took quadratic time)
            before = _WORD_BEFORE.search(text, max(piece_start, match.start() - _WORD_WINDOW), match.end())
            word = before.group(1).lower() if before else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
            if not any(char.isalnum() for char in text[max(piece_start, match.start() - _WORD_WINDOW) : match.start()]):
                continue  # "“... [We define the] problem …”": no sentence of punctuation alone
            ends = cited.end() if cited else match.end()
            spans.append((piece_start, ends))
            piece_start = ends
        spans.append((piece_start, line_end))
        line_start = line_end + 1
    trimmed = []
    for span_start, span_end in spans:
        segment = text[span_start:span_end]
        stripped = segment.strip()
        if stripped:
            lead = len(segment) - len(segment.lstrip())
            trimmed.append((span_start + lead, span_start + lead + len(stripped)))
    return trimmed


# "Figure 4.12: Announced AI Safety Institutes (…)", "Table 2 - …": a caption line, whose sentences are no claims
CAPTION = re.compile(
    r"^(?:Interactive\s+)?(?:Figure|Fig\.|Table|Image|Chart|Diagram|Video|Box)\s*[A-Z]?\d+(?:[.-]\d+)*\s*[:.—–-]", re.I
)


# A sentence worth its own vector (a quote candidate): at least this many words and at most this many characters.
QUOTE_MIN_WORDS = 6
QUOTE_MAX_CHARS = 600
LIST_MARK = re.compile(r"(?:[-*•]|\d{1,2}[.)])\s+")  # a list item's bullet or number
# the label ``clean`` gives a footnote ("Footnote 7: An autoencoder …", "Footnote footnote_consciousness: Many …")
_FOOTNOTE_LABEL = re.compile(r"Footnote\s+[^\s:]+:\s+")


def quote_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` as they would be quoted: a list item without its bullet or number, a footnote
    without its label."""
    spans = []
    for start, end in split_sentences(text, 0, len(text)):
        mark = LIST_MARK.match(text, start, end) or _FOOTNOTE_LABEL.match(text, start, end)
        spans.append((mark.end() if mark else start, end))
    return spans


def vector_sentence_spans(text: str) -> list[tuple[int, int]]:
    """The spans of ``text``'s sentences that could be quoted (by length), in order: what ingest stores a
    vector for, so that scoring them at question time encodes nothing."""
    return [
        (start, end)
        for start, end in quote_spans(text)
        if len(text[start:end].split()) >= QUOTE_MIN_WORDS and end - start <= QUOTE_MAX_CHARS
    ]


def _split_long(text: str, span: tuple[int, int], budget: int, counter: TokenCounter) -> list[tuple[int, int]]:
    """Split one over-long sentence at word boundaries into spans of at most ``budget`` tokens."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    counts = counter.count([text[span[0] + s : span[0] + e] for s, e in words])
    words, counts = _split_long_words(words, counts, budget)
    pieces: list[tuple[int, int]] = []
    piece_start: int | None = None
    used = previous_end = 0
    for (word_start, word_end), count in zip(words, counts, strict=True):
        if piece_start is not None and used + count > budget:
            pieces.append((piece_start, span[0] + previous_end))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = span[0] + word_start
        used += count
        previous_end = word_end
    if piece_start is not None:
        pieces.append((piece_start, span[0] + previous_end))
    return pieces


def _split_long_words(
    words: list[tuple[int, int]], counts: list[int], budget: int
) -> tuple[list[tuple[int, int]], list[int]]:
    """Cut words longer than ``budget`` tokens (URLs, CJK runs) into character pieces that fit."""
    out_words: list[tuple[int, int]] = []
    out_counts: list[int] = []
    for (start, end), count in zip(words, counts, strict=True):
        if count <= budget:
            out_words.append((start, end))
            out_counts.append(count)
            continue
        step = max(1, (end - start) * budget // (2 * count))  # at most ~half the budget each
        for piece in range(start, end, step):
            out_words.append((piece, min(end, piece + step)))
            out_counts.append(budget // 2)
    return out_words, out_counts


def section_prefix(title: str, path: tuple[str, ...]) -> str:
    """The context line embedded before each chunk: page title and section path."""
    return " > ".join((title, *path)) + "\n"


def _pack(counts: list[int], budget: int) -> list[tuple[int, int]]:
    """Group consecutive items into runs of balanced size, each at most ``budget``."""
    total = sum(counts)
    target = math.ceil(total / math.ceil(total / budget)) if total else budget
    runs: list[tuple[int, int]] = []
    run_start, used = 0, 0
    for position, count in enumerate(counts):
        if position > run_start and (used + count > budget or used >= target):
            runs.append((run_start, position))
            run_start, used = position, 0
        used += count
    if run_start < len(counts):
        runs.append((run_start, len(counts)))
    return runs


def chunk_section(
    page: CleanPage, section: Section, max_tokens: int, counter: TokenCounter, first_index: int = 0
) -> list[Chunk]:
    """Chunks of one section, each at most ``max_tokens`` word-pieces once embedded."""
    prefix = section_prefix(page.title, section.path)
    room = max_tokens - counter.special_tokens
    prefix_tokens = counter.count([prefix])[0]
    if room - prefix_tokens < room // 2:  # a very long heading path: keep only the title
        prefix = section_prefix(page.title, ())
        prefix_tokens = counter.count([prefix])[0]
    if room - prefix_tokens < room // 2:  # an absurdly long title: embed the text alone
        prefix, prefix_tokens = "", 0
    budget = room - prefix_tokens
    spans = split_sentences(page.text, section.start, section.end)
    counts = counter.count([page.text[s:e] for s, e in spans])
    units: list[tuple[int, int]] = []
    unit_counts: list[int] = []
    for span, count in zip(spans, counts, strict=True):
        if count > budget:
            pieces = _split_long(page.text, span, budget, counter)
            units.extend(pieces)
            unit_counts.extend(counter.count([page.text[s:e] for s, e in pieces]))
        else:
            units.append(span)
            unit_counts.append(count)
    chunks: list[Chunk] = []
    for run_start, run_end in _pack(unit_counts, budget):
        start, end = units[run_start][0], units[run_end - 1][1]
        line_start = page.text.rfind("\n", 0, start) + 1
        chunks.append(
            Chunk(
                index=first_index + len(chunks),
                text=page.text[start:end],
                prefix=prefix,
                start=start,
                end=end,
                section_path=section.path,
                anchor=section.anchor,
                tokens=prefix_tokens + sum(unit_counts[run_start:run_end]),
                opens_in_caption=bool(CAPTION.match(page.text[line_start:start].lstrip())),
            )
        )
    return chunks


def chunk_page(page: CleanPage, max_tokens: int, counter: TokenCounter) -> list[Chunk]:
    """All chunks of a page, in reading order, checked against the window.

    Token counts of joined sentences are sums of their parts for WordPiece tokenizers; for
    other tokenizers a chunk that still turns out too long is split again, so none is cut off.
    """
    chunks: list[Chunk] = []
    for section in page.sections:
        chunks.extend(chunk_section(page, section, max_tokens, counter, len(chunks)))
    room = max_tokens - counter.special_tokens
    actual = counter.count([chunk.embed_text for chunk in chunks])
    if all(count <= room for count in actual):
        return [_with_tokens(chunk, count) for chunk, count in zip(chunks, actual, strict=True)]
    return _resplit(page, chunks, actual, max_tokens, counter)


def _with_tokens(chunk: Chunk, tokens: int) -> Chunk:
    return chunk if chunk.tokens == tokens else Chunk(**{**chunk.__dict__, "tokens": tokens})


def _resplit(
    page: CleanPage, chunks: list[Chunk], actual: list[int], max_tokens: int, counter: TokenCounter
) -> list[Chunk]:
    room = max_tokens - counter.special_tokens
    result: list[Chunk] = []
    for chunk, count in zip(chunks, actual, strict=True):
        if count <= room:
            result.append(chunk)
            continue
        shrunk = Section(chunk.section_path, chunk.anchor, chunk.start, chunk.end)
        smaller = max_tokens - (count - room) - 8
        if smaller < 32:
            raise ValueError(f"cannot fit text of page '{page.title}' into {max_tokens} tokens")
        result.extend(chunk_page(_only(page, shrunk), smaller, counter))
    return [Chunk(**{**chunk.__dict__, "index": position}) for position, chunk in enumerate(result)]


def _only(page: CleanPage, section: Section) -> CleanPage:
    return CleanPage(page.title, page.text, [section], page.url, page.categories, page.updated)

"""Citation markers in generated text: parse, check, renumber, rewrite.

Accepted forms: ``[1]``, ``[1, 2]`` (or ``;``), ``[1][2]``. A marker that opens a sentence
("... end. [2] Next") belongs to the sentence before it when that one has none, else to its own
sentence (a model that puts markers first: "[2] A. [1] B."). Numbers that point to no source are
dropped and reported. The remaining sources are renumbered in order of first use, and only
those are listed. Judging support is left to ``support``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from alignment_qa.ingest.chunk import split_sentences

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_MARKERS_AT_START = re.compile(r"^(?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+")
_END_PUNCT = re.compile(r"([.!?…]+[\"'”’)]*)$")


@dataclass
class CitedSentence:
    """An answer sentence with the source numbers (as written) it cites."""

    text: str
    numbers: list[int] = field(default_factory=list)
    invalid: list[int] = field(default_factory=list)  # numbers written here that point to no source


@dataclass
class ParsedAnswer:
    """Sentences with renumbered citations, and what had to be dropped."""

    sentences: list[CitedSentence]
    order: list[int]  # source index (0-based, as retrieved) of citation n = position + 1
    dropped: list[int]

    def text(self) -> str:
        return " ".join(format_sentence(sentence) for sentence in self.sentences)


def _numbers(marker_text: str) -> list[int]:
    return [int(number) for number in re.findall(r"\d+", marker_text)]


def split_cited_sentences(text: str) -> list[CitedSentence]:
    """Sentences of ``text`` with the numbers of their markers, marker text removed."""
    pieces: list[CitedSentence] = []
    for start, end in split_sentences(text, 0, len(text)):
        raw = text[start:end]
        leading = _MARKERS_AT_START.match(raw)
        if leading and pieces and not pieces[-1].numbers:
            pieces[-1].numbers.extend(_numbers(leading.group()))
            raw = raw[leading.end() :]
        numbers = [number for match in MARKER.finditer(raw) for number in _numbers(match.group(1))]
        clean = re.sub(r"\s+([.,;:!?])", r"\1", MARKER.sub("", raw)).strip()
        clean = re.sub(r"\s{2,}", " ", clean)
        if clean:
            pieces.append(CitedSentence(clean, numbers))
        elif pieces:
            pieces[-1].numbers.extend(numbers)
    for piece in pieces:
        piece.numbers = list(dict.fromkeys(piece.numbers))
    return pieces


def resolve(text: str, n_sources: int) -> ParsedAnswer:
    """Parse ``text``, drop numbers outside 1..n_sources, renumber by first use."""
    sentences = split_cited_sentences(text)
    order: list[int] = []
    dropped: list[int] = []
    for sentence in sentences:
        renumbered = []
        for number in sentence.numbers:
            if not 1 <= number <= n_sources:
                if number not in dropped:
                    dropped.append(number)
                sentence.invalid.append(number)
                continue
            if number - 1 not in order:
                order.append(number - 1)
            renumbered.append(order.index(number - 1) + 1)
        sentence.numbers = list(dict.fromkeys(renumbered))
    return ParsedAnswer(sentences, order, dropped)


def format_sentence(sentence: CitedSentence) -> str:
    """The sentence with its markers before the final punctuation: "Claim [1][2]."; after a closing quote or
    bracket, so that they do not land inside it: "“… partners.” [1]"."""
    if not sentence.numbers:
        return sentence.text
    marks = "".join(f"[{n}]" for n in sentence.numbers)
    match = _END_PUNCT.search(sentence.text)
    if match and match.group(1)[-1] in ".!?…":
        return f"{sentence.text[: match.start()]} {marks}{match.group(1)}"
    return f"{sentence.text} {marks}"

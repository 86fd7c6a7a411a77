"""The figures a question states, and those its answer's sources never mention.

Users put figures in their questions, often wrong ones: "Did OpenAI invent RLHF in 2022?", "Why did
Hubinger first introduce inner alignment in 2010?". An answer quoting "RLHF is a method developed by OpenAI"
reads as a yes unless the reader is told the sources say nothing of 2022. ``stated_figures`` finds the years,
shares and counts a question gives in digits; ``unconfirmed`` keeps those that no source text mentions, in
digits or (up to twenty) in words. Version numbers ("Claude 3", "GPT-4", "RMF 1.0"), parts of a document
("chapter 8", "section 4.2") and numbers inside words ("H100", "10x") are names, not figures, and a small count of
what the user asks for ("List 3 examples", "the top 5 risks") is no claim; the pages naming things is checked
elsewhere (``abstain``). Figures written in words in the question ("three layers") are left alone: they are
usually how the user counts what they ask for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from alignment_qa.engine.answer_type import YEAR


class Figure(NamedTuple):
    """A figure as the question writes it ("34 million", "10%") and its number, plain ("34", "10")."""

    shown: str
    number: str


# a figure in digits standing alone: "2022", "1960s", "10%", "2,000", "0.5"; not "GPT-4", "H100", "10x", "3D"
_FIGURE = re.compile(r"(?<![\w.,/#-])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(s?)(%?)(?![\w-]|[.,]\d)")
# the word before a number that makes it a part's number, not a figure ("chapter 8", "section 4.2", "step 3")
_PART_WORDS = frozenset(
    "chapter chapters section sections part parts figure fig table tables step steps level levels stage stages "
    "phase phases page pages item items question questions no number version v article articles paragraph "
    "appendix box lesson unit module tier".split()
)
_SCALE = re.compile(r"\s+(?:thousand|million|billion|trillion|percent)\b", re.I)
_OPENERS = frozenset(
    "in by for since after before over under about around of to from the a an name list give top what how which why "
    "when who is are was were did do does can could would should and or but so".split()
)
_WORD_BEFORE = re.compile(r"([\w.]+)\W*$")
_WINDOW = 64  # characters before a figure in which the word before it is read
# a small count of what the user asks for: "List 3 examples", "Give me 2 examples", "the top 5 risks"
_COUNTING = frozenset("list name give me top main key first last biggest largest most the".split())
_PLURAL_AFTER = re.compile(r"\s+(?:[a-z-]+\s+)?[a-z-]+s\b")
# any number in a source text, digits read leniently ("34M", "10x", "1960s", "$2,000") and words up to twenty
_ANY_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20", "dozen": "12",
    "half": "50", "hundred": "100", "thousand": "1000",
}  # fmt: skip
_WORD = re.compile(r"[a-z]+")


def _plain(number: str) -> str:
    """Digits as one plain number: "2,000" -> "2000", "1.50" -> "1.5", "3.0" -> "3"."""
    number = number.replace(",", "")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return number


def stated_figures(question: str) -> list[Figure]:
    """The figures ``question`` gives in digits ("2022", "10%", "1960s", "34 million"), in order, each once."""
    found: list[Figure] = []
    for match in _FIGURE.finditer(question):
        digits = match.group(1)
        window = max(0, match.start() - _WINDOW)  # the word before, looked for near the figure only (linear time)
        before = _WORD_BEFORE.search(question, window, match.start())
        word = before.group(1) if before else ""
        if word.lower().rstrip(".") in _PART_WORDS:
            continue
        is_year = bool(YEAR.fullmatch(digits))
        # "Claude 3", "RMF 1.0", "Llama 2": a number after a name is its version (a year after one is a date:
        # "May 2024"); a question's capitalised first word is a name unless it is a common opener ("In 2019, …")
        opener = before is not None and before.start() == 0 and word.lower() in _OPENERS
        right_after = before is not None and not question[before.end(1) : match.start()].strip()  # "GPUs, 0.5": no
        if not is_year and word[:1].isupper() and right_after and not opener:
            continue
        if not is_year and right_after and word.lower() in _COUNTING and _PLURAL_AFTER.match(question, match.end()):
            continue  # "List 3 examples", "the top 5 risks": how many things the user asks for
        scale = _SCALE.match(question, match.end())
        figure = Figure(match.group(0) + (scale.group(0) if scale else ""), _plain(digits))
        if figure not in found:
            found.append(figure)
    return found


def _numbers(text: str) -> set[str]:
    lowered = text.lower()
    numbers = {_plain(number) for number in _ANY_NUMBER.findall(lowered)}
    numbers.update(_NUMBER_WORDS[word] for word in _WORD.findall(lowered) if word in _NUMBER_WORDS)
    return numbers


def unconfirmed(figures: Iterable[Figure], sources: Iterable[str]) -> list[Figure]:
    """``figures`` (from ``stated_figures``) that no text of ``sources`` mentions: "10%" is mentioned by "10
    percent", "1960s" by "1960", "3" by "three", "34" by "34M"; "2022" only by 2022 itself, not by "the 2020s"."""
    mentioned = set().union(*(_numbers(text) for text in sources))
    return [figure for figure in figures if figure.number not in mentioned]


def unconfirmed_notice(missing: list[Figure]) -> str:
    """The notice naming ``missing`` figures: "The quoted sources do not mention 2022, which the question states."."""
    shown = [figure.shown for figure in missing]
    named = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f"The quoted sources do not mention {named}, which the question states."

"""Whether the pages cover a question, decided from several signals, and what to say when not.

Signals: the best passage's cosine with the question; names in the question (capitalised
words, or words with digits) that no page contains (the keyword index knows the corpus's
vocabulary; an unknown lower-case word, such as a typo or another form of a corpus word, only
raises the cosine bar); the question's rarer terms that the corpus has but no retrieved
passage does; and whether a question asking for a year, a count,
a share, an amount or a person finds a sentence carrying one. A decline names what is missing
("No indexed page mentions the Asilomar AI Principles."). For a comparison whose one side the
pages do not mention, the answer covers the other side and a notice names the missing one.
Thresholds live in ``AnswerSettings`` and were chosen on the ``tune`` questions. Retrieval and
sentence scoring are left to ``retrieval`` and ``evidence``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from alignment_qa.engine.evidence import Scored
from alignment_qa.index.keyword import KeywordIndex

_TOKEN = re.compile(r"[A-Za-z0-9][\w'’-]*")
_CONNECTORS = frozenset({"of", "for", "on", "and", "de", "van", "von", "&"})


@dataclass(frozen=True)
class Coverage:
    """The verdict: ``covered``, and when not, the sentence that says why (``reason``)."""

    covered: bool
    reason: str = ""
    missing: list[str] = field(default_factory=list)  # names or terms the pages lack
    notice: str = ""  # for a partly covered question: what the answer leaves out


def unknown_names(question: str, index: KeywordIndex, is_plain_word: Callable[[str], bool]) -> list[str]:
    """Names in ``question`` that no page mentions, as the question spells them, widened to the
    capitalised phrase around them ("the Asilomar AI Principles")."""
    unknown = set(index.unknown_words(question, is_plain_word))
    if not unknown:
        return []
    tokens = [match.group() for match in _TOKEN.finditer(question)]
    names: list[str] = []
    for i, token in enumerate(tokens):
        word = token.lower().rstrip("'’s") if token.lower().endswith(("'s", "’s")) else token.lower()
        if word not in unknown:
            continue
        if not (token[:1].isupper() or any(ch.isdigit() for ch in token)):
            continue  # a lower-case word ("sycophantic" beside "sycophancy") is not a name: it raises the bar
        start, end = i, i + 1
        while start > 0 and (tokens[start - 1][:1].isupper() and start - 1 > 0):
            start -= 1
        while end < len(tokens) and (
            tokens[end][:1].isupper()
            or (tokens[end] in _CONNECTORS and end + 1 < len(tokens) and tokens[end + 1][:1].isupper())
        ):
            end += 1
        phrase = (
            " ".join(tokens[start:end]).rstrip("'’s")
            if tokens[end - 1].endswith(("'s", "’s"))
            else " ".join(tokens[start:end])
        )
        before = start - 1 - (start > 1 and tokens[start - 1].isdigit())  # "the 2017 Asilomar …"
        if before >= 0 and tokens[before].lower() == "the":
            phrase = "the " + phrase
        if phrase not in names and not any(phrase in name for name in names):
            names.append(phrase)
    return names


def absent_terms(
    question: str,
    passages_text: Sequence[str],
    index: KeywordIndex,
    min_idf: float,
) -> list[str]:
    """The question's rarer words that the corpus has but none of the retrieved passages has."""
    analyzer = index.analyzer
    present: set[str] = set()
    for text in passages_text:
        present |= analyzer.term_set(text)
    missing = []
    for word, joined in analyzer.tagged_words(question):
        if joined or word.isdigit():
            continue
        term = analyzer.stem(word)
        if index.doc_freq.get(term, 0) and term not in present and index.idf(term) >= min_idf and word not in missing:
            missing.append(word)
    return missing


def names_phrase(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def decide(
    question: str,
    scored: Sequence[Scored],
    best_passage_cosine: float,
    passages_text: Sequence[str],
    index: KeywordIndex,
    is_plain_word: Callable[[str], bool],
    *,
    min_relevance: float,
    unknown_margin: float,
    rare_idf: float,
    typed_top: int,
    sides: tuple[str, str] | None = None,
    kind: str | None = None,
) -> Coverage:
    """Whether the retrieved passages (and their ``scored`` sentences) can answer ``question``."""
    if not passages_text or not scored:
        return Coverage(False, "")
    names = unknown_names(question, index, is_plain_word)
    if names and sides:
        known = [side for side in sides if not unknown_names(side, index, is_plain_word)]
        if len(known) == 1 and best_passage_cosine >= min_relevance:
            missing_side = next(side for side in sides if side not in known)
            return Coverage(
                True,
                missing=names,
                notice=f"No indexed page mentions {names_phrase(names)}, so this answers only about {known[0]} "
                f"and not about {missing_side}.",
            )
    if names:
        return Coverage(False, f"No indexed page mentions {names_phrase(names)}.", names)
    unknown = index.unknown_words(question, is_plain_word)
    if unknown:  # a typo or an unusual word: be clearly relevant
        min_relevance += unknown_margin
    if best_passage_cosine < min_relevance:
        if unknown:  # declined, and these words are in no page: say so ("no indexed page mentions “sourdough”")
            words = [f"“{word}”" for word in dict.fromkeys(unknown)]
            return Coverage(False, f"No indexed page mentions {names_phrase(words)}.", list(dict.fromkeys(unknown)))
        return Coverage(False, "")
    absent = absent_terms(question, passages_text, index, rare_idf)
    if kind is not None and absent and not any(item.typed for item in scored[:typed_top]):
        quoted = ", ".join(f"“{word}”" for word in absent)
        return Coverage(False, f"None of the nearest passages mentions {quoted}.", absent)
    return Coverage(True)

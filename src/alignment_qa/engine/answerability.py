"""Whether the best sentences of the retrieved passages answer the question, as one probability.

It catches near misses: the pages cover the topic but not the asked fact ("Who leads METR?", "What is the annual
budget of the UK AI Safety Institute?"). A logistic model scores seven features of the question and its scored
sentences: the highest word overlap and cosine of any of them and the best one's score; the share of the
question's term IDF that none of the three best sentences has, and the rarest term the best passage lacks; and
whether the question asks for a year, count, share, amount or person and a top sentence carries one.
scripts/fit_abstain.py fits the weights on the ``tune`` questions (``abstain_weights``) and puts the chosen cut at
the default ``answer.caution_threshold``. What is done with the probability (a notice or a decline), names no page
mentions and off-topic questions are left to ``abstain``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alignment_qa.engine.abstain_weights import WEIGHTS
from alignment_qa.engine.chat_words import CASUAL_WORDS, CHAT_SPELLINGS
from alignment_qa.engine.evidence import Scored, attributed
from alignment_qa.index.keyword import KeywordIndex
from alignment_qa.index.lexical import precise_key

FEATURES = (
    "best_overlap",  # the highest word overlap of any candidate sentence with the question
    "best_cosine",  # the highest cosine of any candidate sentence with the question (not only the best one's)
    "best_score",  # the best sentence's score
    "missing_from_top_sentences",  # the share of the question's term IDF that none of the 3 best sentences has
    "missing_from_best_passage",  # the highest IDF of a question term the best passage lacks
    "typed_question",  # the question asks for a year, count, share, amount or person
    "typed_found",  # one of the 3 best sentences carries such a token
)
TOP_SENTENCES = 3
# words that say what kind of answer is asked for ("in what year", "how many"): an answer need not repeat them, so a
# notice does not name them as missing
ASKING_WORDS = frozenset(
    "year years date many much percent percentage share fraction proportion number amount count size exact exactly "
    "long big large often old high small fast".split()
)
# words a notice does not name either, as it does not name numbers: "none of their best sentences mentions “three”
# or “one”" says nothing about what is missing
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million billion trillion dozen".split()
)
# words that ask what the pages say, not for a fact: "none of their best sentences mentions “topics” or “saying”"
# names nothing they lack
_TEXT_WORDS = frozenset(
    "atlas book chapter chapters section sections paragraph paragraphs page pages topic topics say says saying said "
    "mention mentions mentioned mentioning cover covers covered covering talk talks talked talking discuss discusses "
    "discussed discussing describe describes described describing explain explains explained explaining".split()
)
# words that stand for anything or only frame the asking ("if all we asked it to do is something simple like …"):
# "none of their best sentences mentions “something”, “asked” or “simple”" names nothing the pages lack
_VAGUE_WORDS = frozenset(
    "something anything everything nothing someone anyone everyone somebody anybody nobody simple ask asks asked "
    "asking like just".split()
)
_NOT_NAMED = (
    ASKING_WORDS
    | _TEXT_WORDS
    | _VAGUE_WORDS
    | _NUMBER_WORDS
    | {word + "s" for word in _NUMBER_WORDS}
    | {"vs", "versus"}
    | CASUAL_WORDS  # "none of their best sentences mentions “stuff”" names nothing the pages lack
    | CHAT_SPELLINGS
)


# a verb with a particle that says little alone: "took part", "going to", "run out", "come up", "find out"; neither
# word names what the sentences lack ("none of their best sentences mentions “took” or “part”")
_PHRASAL = re.compile(
    r"\b(?:(?:take|takes|took|taking|taken)\s+part|going\s+to|gonna|(?:run|runs|ran|running)\s+out|"
    r"(?:come|comes|came|coming)\s+up|(?:find|finds|found|finding)\s+out|(?:figure|figures|figured)\s+out|"
    r"(?:end|ends|ended)\s+up|(?:pull|pulled|pulling)\s+(?:off|that\s+off|it\s+off))\b",
    re.I,
)


@dataclass(frozen=True)
class Answerability:
    """The probability that the sentences do not answer the question, and the question's words they lack
    (rarest first)."""

    unanswered: float
    missing: list[str]


def question_words(question: str, index: KeywordIndex) -> list[tuple[str, str]]:
    """``(word, stemmed term)`` for each distinct word of the question (not a compound's joined form) whose term the
    corpus has, in the question's order."""
    analyzer = index.analyzer
    found: dict[str, str] = {}
    for word, joined in analyzer.tagged_words(question):
        if not joined and word not in found:
            term = analyzer.stem(word)
            if index.doc_freq.get(term, 0):
                found[word] = term
    return list(found.items())


def question_terms(question: str, index: KeywordIndex) -> dict[str, str]:
    """The question's stemmed terms that the corpus has, each with the first word it came from."""
    terms: dict[str, str] = {}
    for word, term in question_words(question, index):
        terms.setdefault(term, word)
    return terms


def features(
    question: str, scored: Sequence[Scored], passages_text: Sequence[str], index: KeywordIndex, typed_question: bool
) -> tuple[list[float], list[str]]:
    """The values of ``FEATURES`` (``scored`` best first, ``passages_text`` in retrieval order), and the question's
    words that none of the best sentences has, rarest first, as the question spells them (not numbers, number
    words or "vs", nor the words that ask for a kind of answer: ``ASKING_WORDS``)."""
    analyzer = index.analyzer
    terms = question_terms(question, index)
    idf = {term: index.idf(term) for term in terms}
    # compared as ``Analyzer.precise_terms`` keys: a sentence's "found" does not answer "Who founded …?"
    key = {term: precise_key(word, term) for term, word in terms.items()}
    in_top: set[str] = set()
    for item in scored[:TOP_SENTENCES]:
        in_top |= analyzer.precise_terms(attributed(item.text, item.speaker, item.topic)).keys()
    in_passage = analyzer.precise_terms(passages_text[0]).keys() if passages_text else set()
    lacking = sorted((term for term in terms if key[term] not in in_top), key=lambda term: -idf[term])
    values = [
        max((item.overlap for item in scored), default=0.0),
        max((item.cosine for item in scored), default=0.0),
        scored[0].score if scored else 0.0,
        sum(idf[term] for term in lacking) / max(sum(idf.values()), 1e-6),
        max((idf[term] for term in terms if key[term] not in in_passage), default=0.0),
        float(typed_question),
        float(any(item.typed for item in scored[:TOP_SENTENCES])),
    ]
    phrasal = {word.lower() for found in _PHRASAL.finditer(question) for word in found.group().split()}
    shown = (
        _as_asked(question, terms[term])
        for term in lacking
        if terms[term] not in _NOT_NAMED and terms[term].lower() not in phrasal
    )
    return values, [word for word in shown if word]


def _as_asked(question: str, word: str) -> str | None:
    """``word`` as the question spells it ("ARC" for "arc"); None for a number, or a piece of a word the analyzer
    cut at a letter it does not keep ("del" of "Gödel")."""
    if word.isdigit():
        return None
    found = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", question, re.IGNORECASE)
    return found.group() if found else None


def probability(values: Sequence[float], model: Mapping[str, object] = WEIGHTS) -> float:
    """The model's probability that the sentences do not answer the question."""
    if list(model["features"]) != list(FEATURES):  # type: ignore[call-overload]
        raise ValueError("abstention weights were fitted for other features: rerun scripts/fit_abstain.py")
    x = (np.asarray(values, dtype=float) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    logit = float(model["bias"]) + float(np.asarray(model["weights"]) @ x)  # type: ignore[arg-type]
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


def answerability(
    question: str, scored: Sequence[Scored], passages_text: Sequence[str], index: KeywordIndex, typed_question: bool
) -> Answerability:
    """How likely the best sentences leave ``question`` unanswered, with the words they lack."""
    values, missing = features(question, scored, passages_text, index, typed_question)
    return Answerability(probability(values), missing)

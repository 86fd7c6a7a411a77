"""The structured support judge: features of the pair, weighed by a logistic regression, with a reason.

``StructuredSupport`` (the default ``support.judge``, "structured") reads a (premise, claim) pair the
way a careful reader would: the packaged embedder's cosine with the best premise sentence and with
the whole premise, how much of the claim's content the premise covers, and checks for a negation
on one side only, numbers and units that differ, names the premise never mentions, shared terms in
reversed order (who did what to whom), a dropped hedge, an added quantifier, certainty word or
intensifier (``engine.judge_features``). A logistic regression fitted on the ``fit`` half of the
labelled pairs (``scripts/fit_judge.py`` writes ``engine.judge_weights``) turns them into a score
in [0, 1]. Two rules override it: a claim with fewer than two content words in common with the
premise never passes (one rare shared word is not support), nor does a near-copy of the premise
whose polarity is flipped by a negation, in which two of its words or names trade places, or whose
terms trade sides around a relation word both use ("B leads to A" for "A leads to B"). Each
verdict carries the strongest cue against the claim as a sentence ("2019 in the claim, 2021 in the
passage"). It does not parse syntax: a passive-voice paraphrase can look like a role swap, and a
contradiction by a word outside its small antonym list ("wary" / "happy") can pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from alignment_qa.engine import judge_weights
from alignment_qa.engine.judge_features import FEATURES, Extracted, extract
from alignment_qa.engine.support import CITATION_MARK, normalise
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.vector_cache import SentenceVectors
from alignment_qa.ingest.chunk import split_sentences

THIN_CAP = 0.1  # the most a claim without substantive overlap can score
FLIP_CAP = 0.3  # the most a near-copy of the premise with its polarity flipped or two roles swapped can score
CROSSED_COVERAGE = 0.8  # a claim this close to the premise's words whose terms trade sides is a role swap
DECISION = 0.55  # the default answer.support_threshold, where scripts/fit_judge.py puts the fitted cut


class Verdict(NamedTuple):
    """A support score and, when something speaks against the claim, why."""

    score: float
    reason: str = ""


def _clean(text: str) -> str:
    return " ".join(CITATION_MARK.sub("", text).split())


class StructuredSupport:
    """Structure-aware features combined by fitted weights; see the module docstring."""

    def __init__(self, embedder: Embedder, analyzer: Analyzer, weights: dict[str, object] | None = None) -> None:
        self.embedder = embedder
        self.analyzer = analyzer
        model = weights or judge_weights.WEIGHTS
        if list(model["features"]) != list(FEATURES):  # type: ignore[call-overload]
            raise ValueError("judge weights were fitted for other features: rerun scripts/fit_judge.py")
        self.bias = float(model["bias"])  # type: ignore[arg-type]
        self.weights = np.array(model["weights"], dtype=float)
        self.mean = np.array(model["mean"], dtype=float)
        self.scale = np.array(model["scale"], dtype=float)
        self.name = (
            f"structured support ({embedder.name.rsplit('/', 1)[-1]} cosine, word coverage, negation, numbers, "
            "names, roles, hedges and quantifiers; logistic regression fitted on the fit half of the labelled pairs)"
        )
        self._vectors = SentenceVectors(embedder, capacity=4096)

    def support(self, premise: str, hypothesis: str) -> float:
        return self.support_many([(premise, hypothesis)])[0]

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [verdict.score for verdict in self.verdicts(pairs)]

    def verdicts(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """A score and a reason for every pair."""
        rows = self.features(pairs)
        return [row if isinstance(row, Verdict) else self._verdict(row) for row in rows]

    def features(self, pairs: Sequence[tuple[str, str]]) -> list[Extracted | Verdict]:
        """Each pair's features, or its verdict when no weighing is needed (empty, or verbatim)."""
        prepared: list[tuple[list[str], str] | Verdict] = []
        for premise, hypothesis in pairs:
            claim = _clean(hypothesis)
            if not claim or not premise.strip():
                prepared.append(Verdict(0.0, "no claim or no passage to compare"))
                continue
            sentences = [premise[a:b] for a, b in split_sentences(premise, 0, len(premise))] or [premise]
            if normalise(claim) in {normalise(sentence) for sentence in sentences} and len(claim.split()) > 2:
                prepared.append(Verdict(1.0))  # a whole sentence of the premise, verbatim
                continue
            prepared.append((sentences, claim))
        texts = [text for item in prepared if not isinstance(item, Verdict) for text in (*item[0], item[1])]
        texts += [" ".join(item[0]) for item in prepared if not isinstance(item, Verdict) and len(item[0]) > 1]
        vectors = self._vectors.lookup(texts)
        out: list[Extracted | Verdict] = []
        for item in prepared:
            if isinstance(item, Verdict):
                out.append(item)
                continue
            sentences, claim = item
            vector = vectors[claim]
            cosines = [float(np.dot(vectors[sentence], vector)) for sentence in sentences]
            whole = float(np.dot(vectors[" ".join(sentences)], vector)) if len(sentences) > 1 else cosines[0]
            out.append(extract(self.analyzer, sentences, claim, cosines, whole, self._is_rare))
        return out

    def _is_rare(self, word: str) -> bool:
        return not word.isdigit() and not self.embedder.is_plain_word(word)

    def _verdict(self, row: Extracted) -> Verdict:
        values = np.array(row.values, dtype=float)
        contributions = self.weights * (values - self.mean) / self.scale
        z = self.bias + float(contributions.sum())
        score = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        thin = row.values[FEATURES.index("thin")] > 0
        if thin:
            score = min(score, THIN_CAP)
        if row.values[FEATURES.index("flipped")] > 0:
            score = min(score, FLIP_CAP)
        coverage = row.values[FEATURES.index("coverage")]
        if row.values[FEATURES.index("swap")] >= 1 and coverage >= 0.9:
            score = min(score, FLIP_CAP)  # the premise's own words with two of them trading places
        if row.values[FEATURES.index("crossed")] > 0 and coverage >= CROSSED_COVERAGE:
            score = min(score, FLIP_CAP)  # the premise's own terms trading sides around its relation word
        why = reason(row, contributions, thin)
        if not why and score < DECISION:
            why = f"the claim is not close enough to the passage in words or meaning (cosine {row.values[0]:.2f})"
        return Verdict(round(score, 6), why)


_CUES = (
    "negation",
    "antonym",
    "number",
    "unit",
    "name",
    "order",
    "swap",
    "hedge",
    "certainty",
    "quantifier",
    "intensifier",
    "crossed",
    "hedge_dropped",
    "quantifier_swapped",
    "quantifier_close",
    "hedge_asserted",
)


def reason(row: Extracted, contributions: np.ndarray, thin: bool = False) -> str:
    """The strongest cue against the claim, as a sentence a reader can check ("" when none)."""
    if thin:
        shared = ", ".join(f"'{word}'" for word in row.shared) or "no content word"
        return f"the claim shares too little with the passage (only {shared})"
    fired = [
        (float(contributions[FEATURES.index(cue)]), cue)
        for cue in _CUES
        if row.values[FEATURES.index(cue)] > 0 and contributions[FEATURES.index(cue)] < 0
    ]
    if fired:
        return _describe(min(fired)[1], row)
    if row.novel:
        return "the passage does not say this (claim words it lacks: " + ", ".join(row.novel[:4]) + ")"
    return ""


def _describe(cue: str, row: Extracted) -> str:
    if cue in ("negation", "flipped"):
        side = "the claim negates it" if row.negated == "claim" else "the passage negates it"
        return f"the passage says the opposite (negation: {side})"
    if cue == "antonym":
        return f"the passage says the opposite ('{row.opposite[0]}' in the claim, '{row.opposite[1]}' in the passage)"
    if cue == "number":
        claim, premise = row.numbers
        return f"{', '.join(claim)} in the claim, {', '.join(premise) or 'no such number'} in the passage"
    if cue == "unit":
        return f"{row.units[0]}s in the claim, {row.units[1]}s in the passage"
    if cue == "name":
        return f"the claim names {', '.join(row.names[:2])}, which the passage does not mention"
    if cue == "crossed" and not row.swapped[0]:
        return "the claim reverses the roles in the passage (who does what to whom)"
    if cue in ("order", "swap", "crossed"):
        first, second = row.swapped
        return f"the claim reverses the roles in the passage ('{first}' and '{second}' swap places)"
    if cue == "hedge_dropped" and not row.hedge:
        return "the passage hedges where the claim does not"
    if cue in ("hedge", "certainty", "hedge_dropped", "hedge_asserted") and row.hedge:
        return f"the passage hedges ({row.hedge}) where the claim does not"
    if cue == "certainty":
        return "the claim is more certain than the passage"
    if cue in ("quantifier", "quantifier_swapped", "quantifier_close") and row.quantifier[0]:
        said, nearest = row.quantifier
        where = f"the passage says '{nearest}'" if nearest else "the passage does not"
        return f"the claim says '{said}' where {where}"
    if cue.startswith("quantifier"):
        return "the claim generalises beyond the passage (a quantifier it lacks)"
    return f"the claim overstates the passage ('{row.intensifier}')"

"""The evaluation's formulas, as pure functions over page rankings, answers and a support judge.

Retrieval is scored at page level against the gold pages; citations as ALCE (Gao et al. 2023)
defines them; faithfulness, key-fact recall and abstention as the issue states. Every support
decision goes through ``SupportJudge.support_many`` with one threshold. Aggregation over
questions (means with bootstrap intervals) is here too; running questions is left to ``runner``.

Formulas (``rank`` is 1-based; ``G`` the set of gold pages; ``P_k`` the first ``k`` ranked pages):
- hit@k = 1 if ``P_k ∩ G`` is non-empty else 0;  recall@k = |P_k ∩ G| / |G|
- MRR = 1 / rank of the first gold page (0 when none is among the 10 ranked pages: MRR@10)
- nDCG@k = DCG@k / IDCG@k with DCG@k = Σ_{i ≤ k, P_i ∈ G} 1 / log2(i + 1) and IDCG@k the same
  sum over the first min(k, |G|) ranks
- citation recall = (sentences with ≥ 1 citation whose cited passages, joined, support them) / sentences
- citation precision = (citations that are precise) / citations, where a citation of sentence s is
  precise when s is supported by all its citations together and the citation is not irrelevant:
  irrelevant = it alone does not support s, while the other citations of s still do. A number
  that points to no retrieved passage is never precise. Only the first 3 citations of a sentence
  count (valid ones first). An answer without citations has precision 0, as in ALCE's code.
- faithfulness = (sentences supported by at least one retrieved passage on its own) / sentences
- no-citation rate = (sentences without a valid citation) / sentences
- outside-citation rate = (citations pointing at no retrieved passage) / (all citations written),
  counted per sentence
- key-fact recall = (key facts the answer's text supports) / key facts
- evidence in answer = 1 if some gold evidence sentence E is covered by one answer sentence S, else 0:
  covered = |content(E) ∩ content(S)| / |content(E)| >= 0.8, where content() is the set of
  lowercased word tokens of the normalized text (markup stripped) minus English stop words. Word
  overlap, not the support judge. A declined answer scores 0.
- evidence retrieved = the same test against every sentence of every retrieved passage
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from alignment_qa.engine.answer import Answer, Citation, RetrievedPassage
from alignment_qa.engine.support import SupportJudge
from alignment_qa.eval.questions import normalize_text

MAX_CITATIONS = 3  # per sentence, as in ALCE
EVIDENCE_OVERLAP = 0.8  # share of an evidence sentence's content words one sentence must contain
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers him his how i if in into is it its itself just may me might more most must my no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your""".split()
)
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]*[A-Z0-9])")


# -- retrieval ----------------------------------------------------------------------------
def page_ranking(passages: Sequence[RetrievedPassage]) -> list[str]:
    """Page ids in rank order, each once (its best passage's rank)."""
    return list(dict.fromkeys(passage.page_id for passage in sorted(passages, key=lambda p: p.rank)))


def hit_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return 1.0 if any(page in gold for page in ranked[:k]) else 0.0


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    return len(set(ranked[:k]) & gold) / len(gold)


def reciprocal_rank(ranked: Sequence[str], gold: set[str]) -> float:
    return next((1.0 / rank for rank, page in enumerate(ranked, 1) if page in gold), 0.0)


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank, page in enumerate(ranked[:k], 1) if page in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(gold)) + 1))
    return dcg / ideal


# -- citations and faithfulness -----------------------------------------------------------
@dataclass
class SentenceCheck:
    """The verdicts on one answer sentence."""

    text: str
    citations: list[int]
    joint_score: float | None  # support of the sentence by its (first 3) cited passages together
    cited_supported: bool
    precise: list[bool]  # per counted citation
    best_retrieved_score: float
    faithful: bool


@dataclass
class AnswerCheck:
    """Per-answer citation and faithfulness figures (``None`` where undefined)."""

    sentences: list[SentenceCheck]
    citation_recall: float | None
    citation_precision: float | None
    faithfulness: float | None
    no_citation_rate: float | None
    outside_citation_rate: float | None


def cited_passage(citation: Citation, retrieved: Sequence[RetrievedPassage]) -> str:
    """The text of the retrieved passage a citation points to (its quote when none matches)."""
    for passage in retrieved:
        if citation.chunk_id and citation.chunk_id in passage.chunk_ids:
            return passage.text
    for passage in retrieved:
        if passage.page_id == citation.page_id and passage.start <= citation.start < passage.end:
            return passage.text
    return citation.quote


def _supported(scores: dict[tuple[str, str], float], premise: str, hypothesis: str, threshold: float) -> bool:
    return scores[(premise, hypothesis)] >= threshold


def check_answer(answer: Answer, judge: SupportJudge, threshold: float) -> AnswerCheck:
    """ALCE citation recall and precision, faithfulness and citation hygiene for one answer."""
    if not answer.covered or not answer.sentences:
        return AnswerCheck([], None, None, None, None, None)
    by_number = {citation.n: cited_passage(citation, answer.retrieved) for citation in answer.citations}
    passages = [passage.text for passage in answer.retrieved if passage.text]
    pairs: list[tuple[str, str]] = []
    plans = []
    for sentence in answer.sentences:
        cited = [by_number[n] for n in sentence.citations[:MAX_CITATIONS] if n in by_number]
        joint = " ".join(cited)
        others = [" ".join(cited[:i] + cited[i + 1 :]) for i in range(len(cited))] if len(cited) > 1 else []
        wanted = ([joint] if cited else []) + (cited if len(cited) > 1 else []) + others + passages
        pairs.extend((premise, sentence.text) for premise in wanted)
        plans.append((cited, joint, others))
    unique = list(dict.fromkeys(pairs))
    scores = dict(zip(unique, judge.support_many(unique), strict=True))

    checks: list[SentenceCheck] = []
    for sentence, (cited, joint, others) in zip(answer.sentences, plans, strict=True):
        joint_ok = bool(cited) and _supported(scores, joint, sentence.text, threshold)
        precise: list[bool] = []
        for index, passage in enumerate(cited):
            if not joint_ok:
                precise.append(False)
            elif len(cited) == 1:
                precise.append(True)
            else:
                alone = _supported(scores, passage, sentence.text, threshold)
                rest = _supported(scores, others[index], sentence.text, threshold)
                precise.append(alone or not rest)
        best = max((scores[(passage, sentence.text)] for passage in passages), default=0.0)
        checks.append(
            SentenceCheck(
                text=sentence.text,
                citations=list(sentence.citations),
                joint_score=scores[(joint, sentence.text)] if cited else None,
                cited_supported=joint_ok,
                precise=precise,
                best_retrieved_score=best,
                faithful=best >= threshold,
            )
        )
    for check, sentence in zip(checks, answer.sentences, strict=True):  # numbers pointing nowhere: imprecise
        check.precise.extend([False] * min(len(sentence.invalid_citations), MAX_CITATIONS - len(check.precise)))
    n = len(checks)
    counted = sum(len(check.precise) for check in checks)
    outside = sum(len(sentence.invalid_citations) for sentence in answer.sentences)
    written = sum(len(sentence.citations) for sentence in answer.sentences) + outside
    return AnswerCheck(
        sentences=checks,
        citation_recall=sum(check.cited_supported for check in checks) / n,
        citation_precision=sum(sum(check.precise) for check in checks) / counted if counted else 0.0,
        faithfulness=sum(check.faithful for check in checks) / n,
        no_citation_rate=sum(not check.citations for check in checks) / n,
        outside_citation_rate=outside / written if written else 0.0,
    )


def key_fact_recall(answer: Answer, facts: Sequence[str], judge: SupportJudge, threshold: float) -> list[bool]:
    """Per key fact, whether the answer's text supports it (a declined answer supports none)."""
    if not facts:
        return []
    if not answer.covered or not answer.sentences:
        return [False] * len(facts)
    text = " ".join(sentence.text for sentence in answer.sentences)
    return [score >= threshold for score in judge.support_many([(text, fact) for fact in facts])]


# -- evidence sentences ------------------------------------------------------------------
def content_words(text: str) -> set[str]:
    """Lowercased word tokens of the normalized ``text``, stop words removed."""
    return {word for word in _WORD.findall(normalize_text(text).lower()) if word not in STOP_WORDS}


def split_sentences(text: str) -> list[str]:
    """``text`` cut after ., ! or ? followed by space and a capital or digit (good enough for overlap)."""
    return [part for part in _SENTENCE_END.split(normalize_text(text)) if part]


def overlap(evidence: str, sentence: str) -> float:
    """The share of ``evidence``'s content words that ``sentence`` contains (0 when it has none)."""
    wanted = content_words(evidence)
    return len(wanted & content_words(sentence)) / len(wanted) if wanted else 0.0


def evidence_found(evidence: Sequence[str], sentences: Iterable[str], threshold: float = EVIDENCE_OVERLAP) -> bool:
    """Whether one of ``sentences`` covers at least ``threshold`` of some evidence sentence's content words."""
    wanted = [words for words in (content_words(text) for text in evidence) if words]
    if not wanted:
        return False
    for sentence in sentences:
        have = content_words(sentence)
        if any(len(words & have) >= threshold * len(words) for words in wanted):
            return True
    return False


def evidence_in_answer(answer: Answer, evidence: Sequence[str]) -> float:
    """1.0 when an answer sentence carries a gold evidence sentence (a declined answer: 0.0)."""
    if not answer.covered or not answer.sentences:
        return 0.0
    return float(evidence_found(evidence, (sentence.text for sentence in answer.sentences)))


def evidence_retrieved(passages: Sequence[str], evidence: Sequence[str]) -> float:
    """1.0 when a sentence of one of the retrieved ``passages`` carries a gold evidence sentence."""
    return float(evidence_found(evidence, (sentence for text in passages for sentence in split_sentences(text))))


# -- aggregation --------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A mean with its bootstrap 95% interval over ``n`` values."""

    mean: float
    low: float
    high: float
    n: int


def bootstrap_mean(values: Sequence[float], samples: int = 1000, seed: int = 0) -> Estimate | None:
    """The mean and the 2.5/97.5 percentiles of ``samples`` resampled means (fixed seed:
    the same values give the same interval)."""
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(samples, len(data)))].mean(axis=1)
    return Estimate(float(data.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)), len(data))


def wilson(values: Sequence[float], z: float = 1.96) -> Estimate | None:
    """The mean of 0/1 ``values`` with its Wilson score 95% interval (sound at 0 or n successes,
    where a percentile bootstrap collapses to a point)."""
    if not values:
        return None
    n, hits = len(values), sum(values)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def estimate_mean(values: Sequence[float], samples: int = 1000, seed: int = 0) -> Estimate | None:
    """Wilson for yes/no values, a percentile bootstrap otherwise."""
    if values and all(value in (0.0, 1.0) for value in values):
        return wilson(values)
    return bootstrap_mean(values, samples, seed)


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def balanced_accuracy(labels: Sequence[bool], predictions: Sequence[bool]) -> float:
    """(true-positive rate + true-negative rate) / 2."""
    positives = [p for label, p in zip(labels, predictions, strict=True) if label]
    negatives = [not p for label, p in zip(labels, predictions, strict=True) if not label]
    rates = [sum(group) / len(group) for group in (positives, negatives) if group]
    return sum(rates) / len(rates) if rates else 0.0


def bootstrap_balanced_accuracy(
    labels: Sequence[bool],
    predictions: Sequence[bool],
    samples: int = 1000,
    seed: int = 0,
    clusters: Sequence[str] | None = None,
) -> Estimate:
    """Balanced accuracy with a 95% bootstrap interval. With ``clusters`` (e.g. the passage each
    pair was written from), whole clusters are resampled, since pairs about one passage are not
    independent; otherwise pairs are resampled within each class."""
    truth = np.asarray(labels, dtype=bool)
    guess = np.asarray(predictions, dtype=bool)
    rng = np.random.default_rng(seed)
    if clusters is not None:
        groups = [np.flatnonzero(np.asarray(clusters) == key) for key in dict.fromkeys(clusters)]
    else:
        groups = []
    classes = [np.flatnonzero(truth), np.flatnonzero(~truth)]
    values = []
    for _ in range(samples):
        if groups:
            picked = np.concatenate([groups[i] for i in rng.integers(0, len(groups), size=len(groups))])
        else:
            picked = np.concatenate([rng.choice(group, size=len(group)) for group in classes if len(group)])
        values.append(balanced_accuracy(list(truth[picked]), list(guess[picked])))
    point = balanced_accuracy(list(truth), list(guess))
    return Estimate(point, float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)), len(truth))

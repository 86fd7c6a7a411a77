"""Support judges: how well does a premise (cited passages) support a hypothesis (a sentence)?

Every judge implements ``support(premise, hypothesis) -> float`` in [0, 1] (and a batched
``support_many``). Four ship, chosen by ``support.judge`` through ``build_judge``:

- ``StructuredSupport`` (default, in ``engine.judge``): features of the pair (cosine, coverage,
  negation, numbers, names, roles, hedges, quantifiers) weighed by a logistic regression fitted on
  the ``fit`` half of the shipped labelled pairs; each verdict carries a reason.
- ``SimilaritySupport`` (named "support similarity", not entailment): the packaged
  embedding model's best cosine between the sentence and the premise's sentences, blended with
  the share of the sentence's content words (IDF-weighted, stemmed) found in the premise. A
  sentence equal to a whole sentence of the premise scores 1. Two contradiction cues halve the
  score: a number the premise does not contain, and a name (capitalised word or acronym) the
  premise does not contain. It catches invented claims, swapped numbers and swapped names; it
  cannot see a negation or a swapped relation between things the premise does name (who did what
  to whom), which an NLI judge can.
- ``NliSupport``: an NLI cross-encoder by name or folder; the probability of "entailment".
- ``LlmSupport``: an LLM over an OpenAI-compatible endpoint asked "yes or no"; 1 or 0.

``explain`` gives every judge's verdicts with a reason (a generic one for judges that give none).
Calibrating them against hand labels is left to the evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from alignment_qa.errors import AlignmentQAError, ModelLoadError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.index.vector_cache import SentenceVectors
from alignment_qa.ingest.chunk import split_sentences
from alignment_qa.prompts import load_prompt
from alignment_qa.settings import without_login

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

    from alignment_qa.engine.judge import Verdict
    from alignment_qa.settings import Settings

CITATION_MARK = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
_SPACE = re.compile(r"\s+")
_BULLET = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
CONFLICT_FACTOR = 0.5  # what a contradiction cue leaves of a score
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?")
_NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
}  # fmt: skip
_NAME = re.compile(r"\b(?:[A-Z][a-z]*[A-Z][\w]*|[A-Z]{2,}\w*|[A-Z][a-z]+)\b")


def normalise(text: str) -> str:
    """Text without citation marks or a leading list bullet, with single spaces, lower-cased."""
    flat = _SPACE.sub(" ", CITATION_MARK.sub("", text)).strip().lower()
    return _BULLET.sub("", flat)


class SupportJudge(Protocol):
    """Anything that scores how well a premise supports a hypothesis."""

    name: str

    def support(self, premise: str, hypothesis: str) -> float: ...

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]: ...


class SimilaritySupport:
    """Embedding similarity plus weighted word overlap, with the packaged embedding model."""

    def __init__(
        self,
        embedder: Embedder,
        analyzer: Analyzer,
        idf: Callable[[str], float] | None = None,
        similarity_floor: float = 0.25,
        similarity_ceiling: float = 0.85,
        lexical_weight: float = 0.5,
    ) -> None:
        self.embedder = embedder
        self.name = f"support similarity ({embedder.name.rsplit('/', 1)[-1]} cosine + IDF word overlap)"
        self.analyzer = analyzer
        self.idf = idf or (lambda term: 1.0)
        self.floor = similarity_floor
        self.ceiling = similarity_ceiling
        self.lexical_weight = lexical_weight
        self._vectors = SentenceVectors(embedder, capacity=4096)

    def support(self, premise: str, hypothesis: str) -> float:
        return self.support_many([(premise, hypothesis)])[0]

    def overlap(self, premise: str, hypothesis: str) -> float:
        """IDF-weighted share of the hypothesis's terms that occur in the premise."""
        wanted = self.analyzer.term_set(hypothesis)
        if not wanted:
            return 0.0
        present = self.analyzer.term_set(premise)
        total = sum(self.idf(term) for term in wanted)
        found = sum(self.idf(term) for term in wanted if term in present)
        return found / total if total else 0.0

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        scores: list[float | None] = []
        pieces: list[tuple[list[str], str]] = []
        for premise, hypothesis in pairs:
            claim = normalise(hypothesis)
            if not claim or not premise.strip():
                scores.append(0.0)
                continue
            sentences = [premise[a:b] for a, b in split_sentences(premise, 0, len(premise))] or [premise]
            if claim in {normalise(sentence) for sentence in sentences}:
                scores.append(1.0)  # a whole sentence of the premise, verbatim
                continue
            pieces.append((sentences, hypothesis))
            scores.append(None)
        if pieces:
            texts = [
                text for sentences, hypothesis in pieces for text in (*sentences, CITATION_MARK.sub("", hypothesis))
            ]
            vectors = self._vectors.lookup(texts)
        result: list[float] = []
        queue = iter(pieces)
        for (premise, hypothesis), score in zip(pairs, scores, strict=True):
            if score is not None:
                result.append(score)
                continue
            sentences, _ = next(queue)
            claim_vector = vectors[CITATION_MARK.sub("", hypothesis)]
            cosine = max(float(np.dot(vectors[text], claim_vector)) for text in sentences)
            similarity = min(1.0, max(0.0, (cosine - self.floor) / (self.ceiling - self.floor)))
            lexical = self.overlap(premise, hypothesis)
            score = (1 - self.lexical_weight) * similarity + self.lexical_weight * lexical
            if self.conflicts(premise, CITATION_MARK.sub("", hypothesis)):
                score *= CONFLICT_FACTOR
            result.append(score)
        return result

    def conflicts(self, premise: str, hypothesis: str) -> list[str]:
        """Contradiction cues: numbers, then names, of the claim that the premise lacks."""
        found = []
        premise_words = {word.lower() for word in re.findall(r"[A-Za-z]+", premise)}
        if _numbers(hypothesis) - _numbers(premise):
            found.append("number")
        names = {
            match.group().lower()
            for match in _NAME.finditer(hypothesis)
            # a capitalised first word may just start the sentence; "OpenAI" or "GPT" never does
            if (match.start() > 0 or not match.group()[1:].islower()) and len(match.group()) > 2
        }
        # "GPU" matches "GPUs", "Anthropic" matches "Anthropics": a premise word starting with the name
        if any(not any(word.startswith(name) for word in premise_words) for name in names):
            found.append("name")
        return found


class NliSupport:
    """An NLI cross-encoder: the probability that the premise entails the hypothesis."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        try:
            from sentence_transformers import CrossEncoder

            self.model = CrossEncoder(model, device=device, trust_remote_code=False)
        except Exception as exc:  # missing folder, no network for a hub name, bad config
            raise ModelLoadError(f"cannot load NLI model '{model}': {exc}") from exc
        labels = {int(k): str(v).lower() for k, v in (self.model.config.id2label or {}).items()}
        entail = [index for index, label in labels.items() if label.startswith("entail")]
        if not entail:
            raise ModelLoadError(f"model '{model}' has no 'entailment' label (labels: {labels}); is it an NLI model?")
        self.entailment = entail[0]
        self.name = f"NLI entailment ({model})"

    def support(self, premise: str, hypothesis: str) -> float:
        return self.support_many([(premise, hypothesis)])[0]

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        cleaned = [(premise, CITATION_MARK.sub("", hypothesis)) for premise, hypothesis in pairs]
        probabilities = self.model.predict(cleaned, apply_softmax=True, show_progress_bar=False)
        return [float(row[self.entailment]) for row in np.atleast_2d(probabilities)]


_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


class LlmSupport:
    """An LLM asked whether the premise supports the claim: 1.0 for "yes", 0.0 for "no" or for
    an answer that is neither (counted in ``unparsed``)."""

    def __init__(self, llm: LLM, description: str) -> None:
        self.llm = llm
        self.name = f"LLM judge ({description})"
        self.prompt = load_prompt("judge")
        self.unparsed = 0

    def support(self, premise: str, hypothesis: str) -> float:
        return self.support_many([(premise, hypothesis)])[0]

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        scores = []
        for premise, hypothesis in pairs:
            prompt = self.prompt.format(premise=premise.strip(), hypothesis=CITATION_MARK.sub("", hypothesis).strip())
            try:
                reply = self.llm.complete(prompt).text
            except Exception as exc:  # refused, timed out, HTTP error: the judge cannot judge
                raise AlignmentQAError(f"the LLM judge failed ({type(exc).__name__}: {str(exc)[:200]})") from exc
            verdict = _YES_NO.search(reply)
            if verdict is None:
                self.unparsed += 1
            scores.append(1.0 if verdict and verdict.group(1).lower() == "yes" else 0.0)
        return scores


def build_judge(
    settings: Settings, embedder: Embedder, analyzer: Analyzer, idf: Callable[[str], float] | None = None
) -> SupportJudge:
    """The judge ``support.judge`` names: similarity (default), nli (``support.nli_model``) or llm
    (the ``llm`` endpoint, at temperature 0)."""
    kind = settings.support.judge
    if kind == "nli":
        if not settings.support.nli_model:
            raise AlignmentQAError("support.judge = nli needs support.nli_model")
        return NliSupport(settings.support.nli_model, settings.embedding.device)
    if kind == "llm":
        from alignment_qa.engine.generation import build_llm

        if not settings.llm.base_url:
            raise AlignmentQAError("support.judge = llm needs llm.base_url (an OpenAI-compatible endpoint)")
        quiet = settings.llm.model_copy(update={"temperature": 0.0, "max_tokens": 16})
        llm = build_llm(settings.model_copy(update={"llm": quiet}), "llm")
        return LlmSupport(llm, f"{settings.llm.model} at {without_login(settings.llm.base_url)}")
    if kind == "similarity":
        return SimilaritySupport(embedder, analyzer, idf)
    from alignment_qa.engine.judge import StructuredSupport

    return StructuredSupport(embedder, analyzer)


def explain(judge: SupportJudge, pairs: Sequence[tuple[str, str]], threshold: float) -> list[Verdict]:
    """Scores with reasons: the judge's own (``verdicts``) where it gives them, else the score against the threshold."""
    from alignment_qa.engine.judge import Verdict

    verdicts = getattr(judge, "verdicts", None)
    if callable(verdicts):
        return list(verdicts(pairs))
    return [
        Verdict(score, "" if score >= threshold else f"support score {score:.2f} is below the threshold {threshold}")
        for score in judge.support_many(pairs)
    ]


def unsupported_reason(citations: Sequence[int], score: float, threshold: float, reason: str, repeated: bool) -> str:
    """What a reader is told about a sentence marked unsupported ("" for a supported one)."""
    if not citations:
        return "no citation"
    if repeated:
        return "it repeats an instruction found in a source (a possible prompt injection)"
    if score >= threshold:
        return ""
    return reason or f"support score {score:.2f} is below the threshold {threshold}"


def judge_settings(settings: Settings, judge: SupportJudge) -> dict[str, Any]:
    """What a report must say about the judge: its name, kind, model and decision threshold."""
    described: dict[str, Any] = {
        "name": judge.name,
        "kind": settings.support.judge,
        "threshold": settings.answer.support_threshold,
    }
    if settings.support.judge == "structured":
        described["embedding_model"] = settings.embedding.identity
        described["fitted_on"] = "the fit split of the shipped labelled pairs (scripts/fit_judge.py)"
    if isinstance(judge, SimilaritySupport):
        described.update(
            embedding_model=settings.embedding.identity,
            similarity_floor=judge.floor,
            similarity_ceiling=judge.ceiling,
            lexical_weight=judge.lexical_weight,
        )
    elif settings.support.judge == "nli":
        described["model"] = settings.support.nli_model
    elif settings.support.judge == "llm":
        described.update(model=settings.llm.model, endpoint=without_login(settings.llm.base_url or ""), temperature=0.0)
        if isinstance(judge, LlmSupport):
            described["unparsed_replies"] = judge.unparsed  # neither yes nor no: counted as "not supported"
    return described


def _numbers(text: str) -> set[str]:
    """The numbers in ``text``, written as digits ("twenty" and "20" alike; "1,000" as "1000")."""
    found = {match.replace(",", "").rstrip("%") for match in _NUMBER.findall(text)}
    found.update(_NUMBER_WORDS[word] for word in re.findall(r"[a-z]+", text.lower()) if word in _NUMBER_WORDS)
    return found

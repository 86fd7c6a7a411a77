"""Support judges: how well does a premise (cited passages) support a hypothesis (a sentence)?

Every judge implements ``support(premise, hypothesis) -> float`` in [0, 1] (and a batched
``support_many``). Two ship:

- ``SimilaritySupport`` (default, named "support similarity", not entailment): the packaged
  embedding model's best cosine between the sentence and the premise's sentences, blended with
  the share of the sentence's content words (IDF-weighted, stemmed) found in the premise. A
  sentence equal to a whole sentence of the premise scores 1. It catches invented claims about other topics; it cannot
  catch a negation or a swapped number, which an NLI judge can.
- ``NliSupport``: an NLI cross-encoder by name or folder; the probability of "entailment".

An LLM judge is left to the evaluation module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from alignment_qa.errors import ModelLoadError
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.ingest.chunk import split_sentences

_CITATION_MARK = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")
_SPACE = re.compile(r"\s+")
_BULLET = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
VECTOR_CACHE = 4096  # sentence embeddings kept between calls


def normalise(text: str) -> str:
    """Text without citation marks or a leading list bullet, with single spaces, lower-cased."""
    flat = _SPACE.sub(" ", _CITATION_MARK.sub("", text)).strip().lower()
    return _BULLET.sub("", flat)


class SupportJudge(Protocol):
    """Anything that scores how well a premise supports a hypothesis."""

    name: str

    def support(self, premise: str, hypothesis: str) -> float: ...

    def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]: ...


class SimilaritySupport:
    """Embedding similarity plus weighted word overlap, with the packaged embedding model."""

    name = "support similarity (all-MiniLM-L6-v2 cosine + IDF word overlap)"

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
        self.analyzer = analyzer
        self.idf = idf or (lambda term: 1.0)
        self.floor = similarity_floor
        self.ceiling = similarity_ceiling
        self.lexical_weight = lexical_weight
        self._vectors: dict[str, np.ndarray] = {}

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

    def vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Embeddings of ``texts``, cached for the life of this judge."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._vectors))
        if len(self._vectors) + len(missing) > VECTOR_CACHE:
            self._vectors.clear()
        if missing:
            for text, vector in zip(missing, self.embedder.encode(missing), strict=True):
                self._vectors[text] = vector
        return [self._vectors[text] for text in texts]

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
                text for sentences, hypothesis in pieces for text in (*sentences, _CITATION_MARK.sub("", hypothesis))
            ]
            self.vectors(texts)
        result: list[float] = []
        queue = iter(pieces)
        for (premise, hypothesis), score in zip(pairs, scores, strict=True):
            if score is not None:
                result.append(score)
                continue
            sentences, _ = next(queue)
            claim_vector = self._vectors[_CITATION_MARK.sub("", hypothesis)]
            cosine = max(float(np.dot(self._vectors[text], claim_vector)) for text in sentences)
            similarity = min(1.0, max(0.0, (cosine - self.floor) / (self.ceiling - self.floor)))
            lexical = self.overlap(premise, hypothesis)
            result.append((1 - self.lexical_weight) * similarity + self.lexical_weight * lexical)
        return result


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
        cleaned = [(premise, _CITATION_MARK.sub("", hypothesis)) for premise, hypothesis in pairs]
        probabilities = self.model.predict(cleaned, apply_softmax=True, show_progress_bar=False)
        return [float(row[self.entailment]) for row in np.atleast_2d(probabilities)]

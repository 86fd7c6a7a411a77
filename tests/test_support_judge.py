"""The default support judge with the real packaged model: what it catches and what it cannot."""

from __future__ import annotations

import pytest

from alignment_qa.engine.support import SimilaritySupport
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer

PREMISE = (
    "DeepMind found that most large language models were significantly overparameterized. "
    "The Chinchilla results suggest about 20 training tokens per parameter."
)


@pytest.fixture(scope="module")
def judge(embedder: Embedder) -> SimilaritySupport:
    return SimilaritySupport(embedder, Analyzer())


def test_verbatim_and_paraphrase_are_supported(judge: SimilaritySupport) -> None:
    assert judge.support(PREMISE, "The Chinchilla results suggest about 20 training tokens per parameter. [2]") == 1.0
    assert judge.support(PREMISE, "According to DeepMind, most big language models have too many parameters.") >= 0.55


def test_swapped_numbers_and_names_are_caught(judge: SimilaritySupport) -> None:
    assert judge.conflicts(PREMISE, "The Chinchilla results suggest about 50 tokens per parameter.") == ["number"]
    assert judge.conflicts(PREMISE, "Chinchilla suggests twenty tokens per parameter.") == []  # "twenty" is 20
    assert judge.conflicts(PREMISE, "OpenAI found that most models were overparameterized.") == ["name"]
    assert judge.conflicts(PREMISE, "DeepMind's finding: models were overparameterized.") == []
    assert judge.support(PREMISE, "The Chinchilla results suggest about 50 training tokens per parameter.") < 0.55
    assert judge.support(PREMISE, "OpenAI found that most large language models were overparameterized.") < 0.55


def test_what_it_cannot_see(judge: SimilaritySupport) -> None:
    """A negation of the premise still scores as supported: the reason the judge is calibrated and
    every report carries its balanced accuracy (an NLI judge can be plugged in instead)."""
    negated = "DeepMind found that most large language models were not overparameterized."
    assert judge.support(PREMISE, negated) >= 0.55

"""The judge's calibration: how often it agrees with hand labels, with an error bar.

``data/calibration.jsonl`` ships with the package: hand-labelled (passage, sentence, supported)
pairs from the development corpus, written for this project, with the kind of each sentence
(paraphrase, negation, swapped number...). ``calibrate`` runs a judge over them at the decision
threshold and reports balanced accuracy with a bootstrap 95% interval (resampling whole passages,
since several sentences were written about each) and accuracy per kind, so
every faithfulness figure can carry the judge's error rate. Labelling is left to people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files

from alignment_qa.engine.support import SupportJudge
from alignment_qa.eval.metrics import Estimate, bootstrap_balanced_accuracy


@dataclass(frozen=True)
class CalibrationPair:
    """One hand-labelled pair."""

    id: str
    page_id: str
    passage: str
    sentence: str
    supported: bool
    kind: str


@dataclass
class Calibration:
    """The judge against the labels: balanced accuracy with its interval, and per-kind accuracy."""

    balanced_accuracy: Estimate
    by_kind: dict[str, tuple[int, int]]  # kind -> (agreed, pairs)
    scores: list[float]
    labels: list[bool]

    def as_dict(self) -> dict[str, object]:
        estimate = self.balanced_accuracy
        return {
            "pairs": estimate.n,
            "balanced_accuracy": round(estimate.mean, 4),
            "ci95": [round(estimate.low, 4), round(estimate.high, 4)],
            "accuracy_by_kind": {
                kind: {"agreed": agreed, "pairs": n, "accuracy": round(agreed / n, 4)}
                for kind, (agreed, n) in sorted(self.by_kind.items())
            },
        }


def load_calibration() -> list[CalibrationPair]:
    """The shipped calibration pairs."""
    text = files("alignment_qa.eval").joinpath("data/calibration.jsonl").read_text(encoding="utf-8")
    return [CalibrationPair(**json.loads(line)) for line in text.splitlines() if line.strip()]


def calibrate(
    judge: SupportJudge, threshold: float, pairs: list[CalibrationPair], samples: int = 1000, seed: int = 0
) -> Calibration:
    """Run ``judge`` over ``pairs``: a pair counts as "supported" when its score is at least ``threshold``."""
    scores = judge.support_many([(pair.passage, pair.sentence) for pair in pairs])
    labels = [pair.supported for pair in pairs]
    predictions = [score >= threshold for score in scores]
    by_kind: dict[str, tuple[int, int]] = {}
    for pair, predicted in zip(pairs, predictions, strict=True):
        agreed, n = by_kind.get(pair.kind, (0, 0))
        by_kind[pair.kind] = (agreed + (predicted == pair.supported), n + 1)
    passages = [pair.passage for pair in pairs]  # pairs written from one passage are resampled together
    estimate = bootstrap_balanced_accuracy(labels, predictions, samples, seed, clusters=passages)
    return Calibration(estimate, by_kind, scores, labels)

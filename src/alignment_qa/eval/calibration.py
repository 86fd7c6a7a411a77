"""The judge's calibration: how often it agrees with hand labels, with an error bar.

Two files ship with the package, hand-labelled (passage, sentence, supported, kind) pairs from the
development corpus, written for this project: ``data/calibration.jsonl`` (182 older pairs, all in
the ``fit`` split) and ``data/support-pairs.jsonl`` (pairs of every kind an LLM answer goes wrong:
negation, swapped numbers or roles, dropped hedges...), split once by a hash of the passage into
``fit`` and ``held-out``. The structured judge's weights were fitted on ``fit`` only; evaluations
report the ``held-out`` half. ``calibrate`` runs a judge over pairs at the decision threshold and
reports balanced accuracy with a bootstrap 95% interval (resampling whole passages, since several
sentences were written about each) and accuracy per kind. ``parse_pairs`` reads any pair file in
the same format, naming the line of a malformed one. Labelling is left to people.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files

from alignment_qa.engine.support import SupportJudge
from alignment_qa.errors import InputPathError
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
    split: str = "fit"


class PairFileError(InputPathError):
    """A labelled pair file is malformed; the message names the line."""


SPLITS = ("fit", "held-out")
KINDS = (
    "verbatim", "paraphrase", "entailment", "summary", "negation", "number", "role_swap", "entity_swap", "hedge",
    "quantifier", "overclaim", "unrelated", "world_knowledge",
)  # fmt: skip


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
    """The 182 older shipped pairs (all in the ``fit`` split)."""
    return parse_pairs(_shipped("calibration.jsonl"), "calibration.jsonl")


def load_pairs(split: str | None = None) -> list[CalibrationPair]:
    """Every shipped labelled pair (older ones first), or those of one split ("fit", "held-out")."""
    pairs = load_calibration() + parse_pairs(_shipped("support-pairs.jsonl"), "support-pairs.jsonl")
    return [pair for pair in pairs if split is None or pair.split == split]


def load_held_out() -> list[CalibrationPair]:
    """The pairs no weight or rule of the default judge was fitted on: what evaluations report."""
    return load_pairs("held-out")


def parse_pairs(text: str, source: str) -> list[CalibrationPair]:
    """Pairs from JSON lines: ``passage`` (or ``premise``), ``sentence`` (or ``hypothesis``), ``supported``
    (or ``label``) as true/false, optional ``kind`` ("other" when absent), ``id``, ``page_id`` and ``split``."""
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PairFileError(f"{source}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise PairFileError(f"{source}, line {number}: expected a JSON object")
        passage, sentence = row.get("passage", row.get("premise")), row.get("sentence", row.get("hypothesis"))
        label = row.get("supported", row.get("label"))
        if not isinstance(passage, str) or not passage.strip():
            raise PairFileError(f"{source}, line {number}: 'passage' (or 'premise') must be a non-empty string")
        if not isinstance(sentence, str) or not sentence.strip():
            raise PairFileError(f"{source}, line {number}: 'sentence' (or 'hypothesis') must be a non-empty string")
        if not isinstance(label, bool):
            raise PairFileError(f"{source}, line {number}: 'supported' (or 'label') must be true or false")
        kind, split = row.get("kind") or "other", row.get("split") or "fit"
        if not isinstance(kind, str) or not isinstance(split, str):
            raise PairFileError(f"{source}, line {number}: 'kind' and 'split' must be strings")
        pair_id, page_id = str(row.get("id") or f"line-{number}"), str(row.get("page_id") or "")
        pairs.append(CalibrationPair(pair_id, page_id, passage, sentence, label, kind, split))
    return pairs


def _shipped(name: str) -> str:
    return files("alignment_qa.eval").joinpath(f"data/{name}").read_text(encoding="utf-8")


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

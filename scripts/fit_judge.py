"""Fit the structured support judge's weights on the ``fit`` split and write src/alignment_qa/engine/judge_weights.py.

A logistic regression (numpy, Newton steps, L2 penalty) over the features of ``engine.judge_features``, on the
shipped pairs of the ``fit`` split only (calibration.jsonl and the fit half of support-pairs.jsonl). Balanced
accuracy on ``fit`` is flat over a wide range of cuts (it printed 0.78-0.79 from 0.3 to 0.5 on 2026-12-07), so the
best one moves far on a small change; the lowest cut within ``PLATEAU`` of the best is taken (a faithful claim is
not marked unsupported when a stricter cut gains nothing measurable) and moved to the default
``answer.support_threshold`` by shifting the bias, so every judge shares one threshold. It prints balanced accuracy
on ``fit`` and on ``held-out`` (for reading, not for choosing anything). Run: HF_HUB_OFFLINE=1 .venv/bin/python
scripts/fit_judge.py [--check] (--check: fit and compare with the shipped weights, writing nothing; exit 1 when one
differs by more than ``TOLERANCE``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from alignment_qa.engine.judge import StructuredSupport, Verdict
from alignment_qa.engine.judge_features import FEATURES
from alignment_qa.engine.judge_weights import WEIGHTS as shipped
from alignment_qa.eval.calibration import load_pairs
from alignment_qa.eval.logistic import fit_logistic, standard_scale, weights_module, within_tolerance, write_or_check
from alignment_qa.eval.metrics import balanced_accuracy
from alignment_qa.index.embedder import Embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.settings import AnswerSettings, EmbeddingSettings

OUT = Path(__file__).resolve().parent.parent / "src" / "alignment_qa" / "engine" / "judge_weights.py"
PENALTY = 3.0  # L2 on standardised weights (chosen by passage-grouped 5-fold cross-validation on fit)
PLATEAU = 0.01  # cuts within this much of the best balanced accuracy on fit tie; the lowest of them is taken
TOLERANCE = 0.01  # --check: largest difference from the shipped values that still matches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped weights, write nothing")
    args = parser.parse_args()
    threshold = float(AnswerSettings.model_fields["support_threshold"].default)
    embedder = Embedder(str(EmbeddingSettings.model_fields["model"].default))
    placeholder = {
        "features": list(FEATURES),
        "bias": 0.0,
        "weights": [0.0] * len(FEATURES),
        "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES),
    }
    judge = StructuredSupport(embedder, Analyzer(), placeholder)
    pairs = load_pairs()
    rows = judge.features([(pair.passage, pair.sentence) for pair in pairs])
    fit = [i for i, pair in enumerate(pairs) if pair.split == "fit" and not isinstance(rows[i], Verdict)]
    x = np.array([rows[i].values for i in fit], dtype=float)  # type: ignore[union-attr]
    y = np.array([pairs[i].supported for i in fit], dtype=float)
    mean, scale = standard_scale(x)
    bias, weights = fit_logistic((x - mean) / scale, y, PENALTY)
    model = {
        "features": list(FEATURES),
        "bias": bias,
        "weights": weights.tolist(),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
    }
    fitted = StructuredSupport(embedder, Analyzer(), model)
    scores = [fitted._verdict(row).score if not isinstance(row, Verdict) else row.score for row in rows]
    fit_all = [i for i, pair in enumerate(pairs) if pair.split == "fit"]
    cuts = sorted({scores[i] for i in fit_all})
    accuracy_at = {
        cut: balanced_accuracy([pairs[i].supported for i in fit_all], [scores[i] >= cut for i in fit_all])
        for cut in cuts
    }
    top = max(accuracy_at.values())
    best = min(cut for cut in cuts if accuracy_at[cut] >= top - PLATEAU)  # the most lenient within PLATEAU of the best
    best = min(max(best, 1e-4), 1 - 1e-4)
    model["bias"] = bias - math.log(best / (1 - best)) + math.log(threshold / (1 - threshold))
    model = {key: [round(v, 6) for v in value] if isinstance(value, list) and key != "features" else value
             for key, value in model.items()}  # fmt: skip
    model["bias"] = round(float(model["bias"]), 6)  # type: ignore[arg-type]
    final = StructuredSupport(embedder, Analyzer(), model)
    verdicts = final.verdicts([(pair.passage, pair.sentence) for pair in pairs])
    for split in ("fit", "held-out"):
        chosen = [i for i, pair in enumerate(pairs) if pair.split == split]
        accuracy = balanced_accuracy(
            [pairs[i].supported for i in chosen], [verdicts[i].score >= threshold for i in chosen]
        )
        print(f"{split}: {len(chosen)} pairs, balanced accuracy {accuracy:.3f}")
    for name, weight in zip(FEATURES, model["weights"], strict=True):  # type: ignore[call-overload]
        print(f"  {name:18s} {weight:+.3f}")
    # --check: another CPU's float rounding can move the sixth decimal
    same = within_tolerance(shipped, model, TOLERANCE)
    doc = "The structured support judge's weights, fitted on the fit split by scripts/fit_judge.py (do not edit)."
    return write_or_check(OUT, weights_module(doc, model), args.check, same)


if __name__ == "__main__":
    sys.exit(main())

"""``alignment-qa judge PAIRS.jsonl``: score any labelled pair file with a support judge.

Reads the file (the format of ``eval/data/support-pairs.jsonl``; a malformed line stops it with
its line number), runs the configured judge or the one ``--judge`` names at
``answer.support_threshold``, and prints balanced accuracy with its passage-clustered bootstrap
95% interval and the accuracy per kind (kinds it does not know are counted under "other").
Building an index is left out: the judge needs only the embedding model (and, for nli or llm,
the model or endpoint the settings name).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alignment_qa.engine.support import build_judge
from alignment_qa.errors import InputPathError
from alignment_qa.eval.calibration import KINDS, Calibration, CalibrationPair, calibrate, parse_pairs
from alignment_qa.index.embedder import build_embedder
from alignment_qa.index.lexical import Analyzer
from alignment_qa.settings import Settings

JUDGES = ("structured", "similarity", "nli", "llm")


@dataclass
class JudgeRun:
    """A judge's name and its agreement with one pair file."""

    judge: str
    pairs: list[CalibrationPair]
    calibration: Calibration


def read_pairs(path: Path, split: str | None = None) -> list[CalibrationPair]:
    """The labelled pairs of ``path`` (of one ``split`` when given), kinds outside ``KINDS`` as "other"."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputPathError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    pairs = parse_pairs(text, str(path))
    if split is not None:
        pairs = [pair for pair in pairs if pair.split == split]
    if not pairs:
        raise InputPathError(f"{path}: no labelled pair" + (f" in split '{split}'" if split else ""))
    return [pair if pair.kind in KINDS else _other(pair) for pair in pairs]


def _other(pair: CalibrationPair) -> CalibrationPair:
    return CalibrationPair(pair.id, pair.page_id, pair.passage, pair.sentence, pair.supported, "other", pair.split)


def run(path: Path, settings: Settings, judge: str | None = None, split: str | None = None) -> JudgeRun:
    """Score the pairs of ``path`` with ``judge`` (default: ``support.judge``)."""
    if judge is not None and judge not in JUDGES:
        raise InputPathError(f"unknown judge '{judge}' (choose from {', '.join(JUDGES)})")
    pairs = read_pairs(path, split)
    if judge is not None:
        settings = settings.model_copy(update={"support": settings.support.model_copy(update={"judge": judge})})
    embedder = build_embedder(settings)
    chosen = build_judge(settings, embedder, Analyzer())
    result = calibrate(
        chosen, settings.answer.support_threshold, pairs, settings.eval.bootstrap_samples, settings.eval.seed
    )
    return JudgeRun(chosen.name, pairs, result)


def report(outcome: JudgeRun, threshold: float) -> str:
    """The printed summary: balanced accuracy with its interval, then one line per kind."""
    estimate = outcome.calibration.balanced_accuracy
    supported = sum(pair.supported for pair in outcome.pairs)
    lines = [
        f"judge: {outcome.judge}",
        f"pairs: {len(outcome.pairs)} ({supported} supported, {len(outcome.pairs) - supported} not), "
        f"threshold {threshold}",
        f"balanced accuracy: {estimate.mean:.3f} (95% interval {estimate.low:.3f}-{estimate.high:.3f}, "
        "passages resampled)",
        f"{'kind':<16} {'agreed':>7} {'pairs':>6} {'accuracy':>9}",
    ]
    order = {kind: index for index, kind in enumerate((*KINDS, "other"))}
    for kind, (agreed, n) in sorted(outcome.calibration.by_kind.items(), key=lambda item: order.get(item[0], 99)):
        lines.append(f"{kind:<16} {agreed:>7} {n:>6} {agreed / n:>9.3f}")
    return "\n".join(lines)

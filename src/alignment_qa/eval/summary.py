"""From per-question results to ``summary.json``: means with bootstrap intervals, the judge and its
calibration, thresholds, corpus fingerprint, settings, code version; the main metrics broken down
by question kind and by split; baseline differences and ``--fail-under`` / ``--fail-over`` checks.
Writing the files is left to ``report``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alignment_qa import __version__
from alignment_qa.eval.metrics import Estimate, estimate_mean, percentile
from alignment_qa.eval.runner import K_VALUES, QuestionResult

# per-question keys averaged into the summary under the same name (or renamed)
AVERAGED = {
    **{f"{name}@{k}": f"{name}@{k}" for name in ("hit", "recall", "ndcg") for k in K_VALUES},
    "mrr": "mrr",
    "citation_recall": "citation_recall",
    "citation_precision": "citation_precision",
    "faithfulness": "faithfulness",
    "no_citation_rate": "no_citation_rate",
    "outside_citation_rate": "outside_citation_rate",
    "key_fact_recall": "key_fact_recall",
    "evidence_in_answer": "evidence_in_answer",
    "evidence_retrieved": "evidence_retrieved",
    "abstention": "abstention_accuracy",
    "false_abstention": "false_abstention_rate",
    "fallback": "fallback_rate",
    "answer_chars": "answer_chars_mean",
    "answer_sentences": "answer_sentences_mean",
}
LOWER_IS_BETTER = {
    "no_citation_rate",
    "outside_citation_rate",
    "false_abstention_rate",
    "fallback_rate",
    "latency_p50_ms",
    "latency_p95_ms",
}
NEUTRAL = {"answer_chars_mean", "answer_sentences_mean"}  # neither better nor worse by itself
METRICS = [*AVERAGED.values(), "latency_p50_ms", "latency_p95_ms", "judge_balanced_accuracy"]
# per-question keys shown per kind and per split, under their summary names
BREAKDOWN = [
    "hit@5",
    "mrr",
    "evidence_in_answer",
    "evidence_retrieved",
    "key_fact_recall",
    "abstention",
    "false_abstention",
]

DEFINITIONS = {
    "hit@k": "1 if any gold page is among the first k ranked pages, else 0; mean over answerable questions. "
    "Ranked pages: those of the passages the answer retrieved, in rank order, then the next pages of a "
    "30-passage search, up to 10",
    "recall@k": "|gold pages among the first k| / |gold pages|",
    "mrr": "1 / rank of the first gold page (0 if none in the first 10: MRR@10)",
    "ndcg@k": "DCG@k / IDCG@k; DCG@k = sum over ranks i <= k holding a gold page of 1/log2(i+1); "
    "IDCG@k = the same over the first min(k, |gold|) ranks",
    "citation_recall": "ALCE: sentences with >= 1 citation whose cited passages (first 3, joined) support them, "
    "/ sentences; mean over answered questions",
    "citation_precision": "ALCE: precise citations / citations (first 3 per sentence); precise = its sentence is "
    "supported by all its citations and it is not irrelevant (irrelevant = it alone does not support the sentence "
    "while the other citations do); a number pointing to no passage is never precise; no citation at all: 0",
    "faithfulness": "sentences supported by at least one retrieved passage on its own / sentences "
    "(a sentence that needs two passages together counts as unsupported)",
    "no_citation_rate": "sentences without a citation / sentences",
    "outside_citation_rate": "citation numbers pointing at no retrieved passage / citation numbers written",
    "key_fact_recall": "key facts supported by the answer's text / key facts (answerable questions with key facts)",
    "evidence_in_answer": "1 if one answer sentence contains >= 80% of the content words (lowercased, stop words "
    "removed, markup stripped) of some gold evidence sentence, else 0 (a decline: 0); word overlap, not the "
    "judge; answerable questions with evidence",
    "evidence_retrieved": "the same test against each sentence of each retrieved passage's text",
    "abstention_accuracy": "share of unanswerable questions the assistant declined ('not covered')",
    "false_abstention_rate": "share of answerable questions the assistant declined",
    "fallback_rate": "LLM modes: share of answers given in which the model's text failed (no valid citation, an "
    "error, a timeout) and quoted evidence was shown instead; citation figures then measure that evidence",
    "answer_chars_mean": "mean characters of the answers given (declines excluded)",
    "answer_sentences_mean": "mean sentences of the answers given",
    "latency_p50_ms": "median seconds x 1000 of Assistant.ask per question",
    "latency_p95_ms": "95th percentile of the same",
    "judge_balanced_accuracy": "(true-positive rate + true-negative rate) / 2 of the judge on the shipped "
    "held-out hand-labelled pairs (support-pairs.jsonl, split held-out) at the support threshold",
}


def code_version() -> str:
    """The package version, plus the git commit when running from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=10"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}" if commit else __version__


def aggregate(results: list[QuestionResult], samples: int, seed: int) -> tuple[dict[str, float | None], dict[str, Any]]:
    """``metrics`` (key -> mean, ``None`` when no question measures it) and ``intervals`` (key ->
    low, high, n: Wilson for yes/no metrics, percentile bootstrap otherwise) over the scored questions."""
    scored = [result for result in results if result.error is None]
    metrics: dict[str, float | None] = {}
    intervals: dict[str, Any] = {}
    for key, name in AVERAGED.items():
        values = [result.metrics[key] for result in scored if key in result.metrics]
        estimate = estimate_mean(values, samples, seed)
        metrics[name] = round(estimate.mean, 4) if estimate else None
        if estimate is not None:
            intervals[name] = _interval(estimate)
    latencies = [result.latency_ms for result in scored]
    for name, q in (("latency_p50_ms", 50), ("latency_p95_ms", 95)):
        value = percentile(latencies, q)
        metrics[name] = round(value, 1) if value is not None else None
    return metrics, intervals


def breakdown(results: list[QuestionResult], group: Callable[[QuestionResult], str]) -> dict[str, Any]:
    """Per group (e.g. question kind): its question count and, per ``BREAKDOWN`` metric measured in
    it, the mean and the number of questions measuring it."""
    groups: dict[str, list[QuestionResult]] = {}
    for result in results:
        if result.error is None:
            groups.setdefault(group(result) or "?", []).append(result)
    table: dict[str, Any] = {}
    for name in sorted(groups):
        members = groups[name]
        row: dict[str, Any] = {"questions": len(members)}
        for key in BREAKDOWN:
            values = [result.metrics[key] for result in members if key in result.metrics]
            if values:
                row[AVERAGED[key]] = {"mean": round(sum(values) / len(values), 4), "n": len(values)}
        table[name] = row
    return table


def _interval(estimate: Estimate) -> dict[str, Any]:
    return {"low": round(estimate.low, 4), "high": round(estimate.high, 4), "n": estimate.n}


def direction(metric: str) -> str:
    if metric in NEUTRAL:
        return "neutral"
    return "lower" if metric in LOWER_IS_BETTER else "higher"


def compare(current: dict[str, float | None], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    """Per metric measured in both summaries: old, new, difference, and whether it got better or worse."""
    old_metrics = baseline.get("metrics", {})
    rows = []
    for metric, new in current.items():
        old = old_metrics.get(metric)
        if not isinstance(old, (int, float)) or new is None:
            continue
        delta = new - old
        way = direction(metric)
        verdict = "same" if abs(delta) < 1e-9 else "changed"
        if way != "neutral" and verdict != "same":
            verdict = "better" if (delta > 0) == (way == "higher") else "worse"
        rows.append({"metric": metric, "baseline": old, "current": new, "delta": round(delta, 4), "verdict": verdict})
    return rows


def comparability(summary: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Why the baseline's numbers may not be comparable with this run's (different inputs or judge)."""
    checks = [
        ("question file", ("questions_file", "sha256")),
        ("corpus", ("corpus", "fingerprint")),
        ("judge", ("judge", "name")),
        ("support threshold", ("judge", "threshold")),
        ("answer mode", ("mode",)),
        ("split", ("split",)),
    ]
    notes = []
    for label, path in checks:
        new: Any = summary
        old: Any = baseline
        for key in path:
            new = new.get(key) if isinstance(new, dict) else None
            old = old.get(key) if isinstance(old, dict) else None
        if new != old:
            notes.append(f"the {label} differs from the baseline's ({old} -> {new})")
    return notes


def threshold_failures(metrics: dict[str, float | None], under: dict[str, float], over: dict[str, float]) -> list[str]:
    """Human-readable reasons the run fails its ``--fail-under`` / ``--fail-over`` thresholds."""
    failures = []
    for metric, floor in under.items():
        value = metrics.get(metric)
        if value is None:
            failures.append(f"{metric} was not measured in this run (needed >= {floor})")
        elif value < floor:
            failures.append(f"{metric} = {value} is below {floor}")
    for metric, ceiling in over.items():
        value = metrics.get(metric)
        if value is None:
            failures.append(f"{metric} was not measured in this run (needed <= {ceiling})")
        elif value > ceiling:
            failures.append(f"{metric} = {value} is above {ceiling}")
    return failures


@dataclass
class RunInfo:
    """Everything about the run that is not a per-question result."""

    questions_file: str
    questions_sha256: str
    skipped_lines: list[tuple[int, str]]
    mode: str
    judge: dict[str, Any]
    calibration: dict[str, Any]
    corpus: dict[str, Any]
    settings: dict[str, Any]
    samples: int
    seed: int
    unknown_gold_pages: list[str]
    split: str | None = None  # the split run (``--split``), None for all questions


def build_summary(results: list[QuestionResult], info: RunInfo) -> dict[str, Any]:
    """The ``summary.json`` document."""
    metrics, intervals = aggregate(results, info.samples, info.seed)
    metrics["judge_balanced_accuracy"] = info.calibration["balanced_accuracy"]
    low, high = info.calibration["ci95"]
    intervals["judge_balanced_accuracy"] = {"low": low, "high": high, "n": info.calibration["pairs"]}
    settings = info.settings
    return {
        "metrics": metrics,
        "intervals": intervals,
        "directions": {metric: direction(metric) for metric in metrics},
        "definitions": DEFINITIONS,
        "counts": {
            "unknown_gold_pages": info.unknown_gold_pages,
            "questions": len(results),
            "scored": sum(result.error is None for result in results),
            "errors": [{"id": r.question.id, "error": r.error} for r in results if r.error is not None],
            "answerable": sum(result.question.answerable for result in results),
            "unanswerable": sum(not result.question.answerable for result in results),
            "skipped_lines": [{"line": line, "reason": reason} for line, reason in info.skipped_lines],
        },
        "judge": {**info.judge, "calibration": info.calibration},
        "thresholds": {
            "support_threshold": settings["answer"]["support_threshold"],
            "min_relevance": settings["answer"]["min_relevance"],
            "unknown_term_margin": settings["answer"]["unknown_term_margin"],
            "max_citations_per_sentence": 3,
        },
        "by_kind": breakdown(results, lambda result: result.question.kind),
        "by_split": breakdown(results, lambda result: result.question.split_name),
        "split": info.split,
        "mode": info.mode,
        "questions_file": {"path": info.questions_file, "sha256": info.questions_sha256},
        "corpus": info.corpus,
        "bootstrap": {"samples": info.samples, "seed": info.seed, "interval": "percentile 95%"},
        "settings": settings,
        "code_version": code_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }

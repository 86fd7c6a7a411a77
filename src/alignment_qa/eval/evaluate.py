"""One evaluation run, end to end: questions, index, judge calibration, answers, summary, files.

``evaluate`` is what ``alignment-qa eval`` calls: it reads the question file (skipping malformed
lines with their reasons), keeps one split when asked (``tune`` or ``test``), optionally indexes
``--corpus`` in a collection of its own, opens the same ``Assistant`` the UI uses, calibrates its
judge on the shipped pairs, runs every question, and writes ``results.jsonl``, ``summary.json``
and ``report.html``. Thresholds and printing are left to the command line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignment_qa.engine.answer import Mode
from alignment_qa.engine.assistant import Assistant
from alignment_qa.engine.support import judge_settings
from alignment_qa.errors import ConfigError, InputPathError
from alignment_qa.eval.calibration import calibrate, load_held_out
from alignment_qa.eval.questions import SPLITS, load_questions
from alignment_qa.eval.report import write_report
from alignment_qa.eval.runner import QuestionResult, corpus_fingerprint, prepare_index, run_questions
from alignment_qa.eval.summary import RunInfo, build_summary, comparability, compare
from alignment_qa.index.embedder import Embedder
from alignment_qa.ingest.pipeline import ProgressReporter
from alignment_qa.settings import Settings


@dataclass
class EvalRun:
    """What a run produced."""

    results: list[QuestionResult]
    summary: dict[str, Any]
    comparison: list[dict[str, Any]] | None
    skipped_lines: list[tuple[int, str]]


def load_baseline(path: Path) -> dict[str, Any]:
    """An earlier ``summary.json``; ``InputPathError`` when it is missing or is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputPathError(f"baseline not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputPathError(f"cannot read baseline {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InputPathError(f"{path} is not a summary.json of alignment-qa eval (no 'metrics' object)")
    return data


def evaluate(
    settings: Settings,
    questions_path: Path,
    out: Path,
    embedder: Embedder,
    corpus: Path | None = None,
    mode: Mode | None = None,
    baseline: dict[str, Any] | None = None,
    progress: ProgressReporter | None = None,
    split: str | None = None,
) -> EvalRun:
    """Run the evaluation (of the ``split`` questions only, when given) and write its files into ``out``."""
    if split is not None and split not in SPLITS:
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)}; got '{split}'")
    question_file = load_questions(questions_path)
    if not question_file.questions:
        raise InputPathError(f"no valid question in {questions_path}")
    if split is not None:
        question_file.questions = [q for q in question_file.questions if q.split_name == split]
        if not question_file.questions:
            raise InputPathError(f"no question of the '{split}' split in {questions_path}")
    if corpus is not None:
        if not corpus.is_dir():
            raise InputPathError(f"corpus folder not found: {corpus}")
        settings, _ = prepare_index(settings, corpus, embedder, progress)
    assistant = Assistant.open(settings, embedder=embedder)
    states = assistant.page_states()  # one read of every chunk's metadata
    gold = {page for question in question_file.questions for page in question.gold_pages}
    unknown_gold = sorted(gold - set(states))  # a typo or a page missing from the index: it would score 0 silently
    pairs = load_held_out()  # pairs the default judge was not fitted on
    samples, seed = settings.eval.bootstrap_samples, settings.eval.seed
    threshold = settings.answer.support_threshold
    calibration = calibrate(assistant.judge, threshold, pairs, samples, seed)

    if progress:
        progress.start("Answering questions", len(question_file.questions))
    results = run_questions(
        assistant,
        question_file.questions,
        assistant.judge,
        mode,
        on_done=(lambda _: progress.advance()) if progress else None,
    )
    if progress:
        progress.finish()
    info = RunInfo(
        questions_file=str(questions_path),
        questions_sha256=hashlib.sha256(questions_path.read_bytes()).hexdigest(),
        skipped_lines=question_file.problems,
        mode=mode or settings.answer.mode,
        judge=judge_settings(settings, assistant.judge),
        calibration=calibration.as_dict(),
        corpus={"path": str(corpus) if corpus else "", **corpus_fingerprint(assistant, states)},
        settings=settings.model_dump(mode="json"),
        samples=samples,
        seed=seed,
        unknown_gold_pages=unknown_gold,
        split=split,
    )
    summary = build_summary(results, info)
    comparison = None
    if baseline is not None:
        comparison = compare(summary["metrics"], baseline)
        summary["baseline"] = {
            "code_version": baseline.get("code_version"),
            "created": baseline.get("created"),
            "notes": comparability(summary, baseline),
        }
    write_report(results, summary, out, baseline, comparison)
    return EvalRun(results, summary, comparison, question_file.problems)

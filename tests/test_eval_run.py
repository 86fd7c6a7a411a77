"""`alignment-qa eval` for real over the sample corpus and question set, run in-process through
`cli.main` (the ``cli`` fixtures) except the second full run, a real process.

Checks the files and their stable keys, that an evidence-mode run is deterministic (the same
inputs give the same numbers, in another process with another hash seed), the baseline
comparison, `--fail-under`/`--fail-over` exit codes, and that malformed question lines are
reported and skipped while the run goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from alignment_qa.index.embedder import Embedder
from app_servers import ENV
from conftest import REPO, SAMPLE_CORPUS, BuiltIndex, CliResult, CliRunner

QUESTIONS = REPO / "eval" / "sample-questions.jsonl"
STABLE_KEYS = {
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr",
    "ndcg@5",
    "recall@5",
    "citation_recall",
    "citation_precision",
    "faithfulness",
    "no_citation_rate",
    "outside_citation_rate",
    "key_fact_recall",
    "abstention_accuracy",
    "false_abstention_rate",
    "answer_chars_mean",
    "latency_p50_ms",
    "latency_p95_ms",
    "judge_balanced_accuracy",
}


def _args(work: Path, *args: str) -> list[str]:
    return ["--data-dir", str(work / "data"), "eval", *args]


def _eval_process(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``alignment-qa eval`` in a process of its own."""
    command = [sys.executable, "-m", "alignment_qa", *_args(work, *args)]
    return subprocess.run(command, cwd=work, env=ENV, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory, module_cli: CliRunner, calibration_once: None
) -> tuple[Path, CliResult]:
    work = tmp_path_factory.mktemp("eval")
    questions = work / "questions.jsonl"
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    questions.write_text("\n".join([lines[0], "{broken", *lines[1:]]) + "\n", encoding="utf-8")
    args = ["--corpus", str(SAMPLE_CORPUS), "--out", str(work / "run1")]
    gates = ["--fail-under", "hit@5=0.9", "--fail-over", "false_abstention_rate=0.2"]
    return work, module_cli(*_args(work, str(questions), *args, *gates), cwd=work)


@pytest.fixture(scope="module")
def second_run(first_run: tuple[Path, CliResult]) -> subprocess.CompletedProcess[str]:
    """The same questions against run1 as the baseline, in a real process, with a gate it cannot pass."""
    work, _ = first_run
    baseline = str(work / "run1" / "summary.json")
    args = ["--corpus", str(SAMPLE_CORPUS), "--out", str(work / "run2"), "--baseline", baseline]
    return _eval_process(work, str(QUESTIONS), *args, "--fail-under", "hit@5=1.01")


def _summary(folder: Path) -> dict[str, Any]:
    return dict(json.loads((folder / "summary.json").read_text(encoding="utf-8")))


def test_a_run_writes_results_summary_and_report(first_run: tuple[Path, CliResult]) -> None:
    work, run = first_run
    assert run.returncode == 0, run.stderr
    assert "questions.jsonl:2 skipped: not valid JSON" in run.stderr  # reported with its line, the rest ran
    summary = _summary(work / "run1")
    assert set(summary["metrics"]) >= STABLE_KEYS
    assert summary["counts"]["questions"] == 16 and summary["counts"]["skipped_lines"][0]["line"] == 2
    assert summary["metrics"]["hit@5"] >= 0.9 and summary["metrics"]["citation_recall"] >= 0.9
    interval = summary["intervals"]["hit@5"]
    assert interval["low"] <= summary["metrics"]["hit@5"] <= interval["high"] and interval["n"] == 13
    judge = summary["judge"]
    assert judge["name"].startswith("structured support") and judge["threshold"] == 0.55
    assert judge["calibration"]["pairs"] >= 100 and len(judge["calibration"]["ci95"]) == 2
    assert summary["corpus"]["pages"] == 7 and len(summary["corpus"]["fingerprint"]) == 16
    assert summary["code_version"] and summary["settings"]["retrieval"]["top_k"] == 5
    assert "Judge: structured support" in run.stdout and "hit@5" in run.stdout

    rows = [json.loads(line) for line in (work / "run1" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 16
    answered = next(row for row in rows if row["answerable"] and row["sentences"])
    assert {"text", "citations", "cited_supported", "precise_citations", "faithful"} <= set(answered["sentences"][0])
    assert answered["ranked_pages"][0]["rank"] == 1 and "hit@5" in answered["metrics"]
    declined = [row for row in rows if not row["answerable"]]
    assert declined and all("abstention" in row["metrics"] for row in declined)

    report = (work / "run1" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Headline</h2>" in report and "balanced accuracy" in report and report.count("<svg") == 4
    assert "worst questions" in report and "DCG@k / IDCG@k" in report and "line 2: not valid JSON" in report
    assert "http" not in report.split("<body>", 1)[1].replace("http://www.w3.org/2000/svg", "")  # nothing fetched


def test_same_inputs_same_numbers_and_the_baseline(
    first_run: tuple[Path, CliResult], second_run: subprocess.CompletedProcess[str]
) -> None:
    work, _ = first_run
    assert (work / "run2" / "summary.json").is_file(), second_run.stderr  # written though the gate failed
    first, second = _summary(work / "run1")["metrics"], _summary(work / "run2")["metrics"]
    timing = {"latency_p50_ms", "latency_p95_ms"}
    assert {k: v for k, v in first.items() if k not in timing} == {k: v for k, v in second.items() if k not in timing}
    report = (work / "run2" / "report.html").read_text(encoding="utf-8")
    assert "<th>Baseline</th>" in report and "+0 (same)" in report
    assert "baseline" in second_run.stdout
    # run1 read a file with a broken line: not the same question file, and the report says so
    assert "the question file differs" in second_run.stderr and "Not like for like" in report


def test_thresholds_fail_the_run_and_bad_input_is_a_usage_error(
    first_run: tuple[Path, CliResult], second_run: subprocess.CompletedProcess[str], cli: CliRunner
) -> None:
    work, _ = first_run
    assert second_run.returncode == 1 and "FAIL: hit@5 = 1.0 is below 1.01" in second_run.stderr

    def usage_error(*args: str) -> str:
        run = cli(*_args(work, str(QUESTIONS), *args), cwd=work)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        return run.stderr

    assert "metric among" in usage_error("--fail-under", "hits=0.5")
    missing = cli(*_args(work, str(work / "nope.jsonl")), cwd=work)
    assert missing.returncode == 2 and "question file not found" in missing.stderr
    assert "baseline not found" in usage_error("--baseline", str(work / "none.json"))
    assert "gate it with --fail-over" in usage_error("--fail-under", "false_abstention_rate=0.1")
    assert "not a finite number" in usage_error("--fail-under", "hit@5=nan")


def test_a_question_that_fails_is_kept_with_its_error(sample_index: BuiltIndex, embedder: Embedder) -> None:
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.eval.questions import load_questions
    from alignment_qa.eval.runner import run_questions

    class ExplodingJudge:
        name = "exploding"

        def support(self, premise: str, hypothesis: str) -> float:
            raise RuntimeError("judge exploded")

        def support_many(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
            raise RuntimeError("judge exploded")

    assistant = Assistant.open(sample_index.settings, embedder=embedder)
    questions = load_questions(QUESTIONS).questions[:2]
    results = run_questions(assistant, questions, ExplodingJudge())
    assert [result.error for result in results] == ["RuntimeError: judge exploded"] * 2
    assert all(result.answer is not None and result.metrics == {} for result in results)  # the answer is kept


def test_a_follow_up_is_asked_after_the_answers_to_its_earlier_turns(
    sample_index: BuiltIndex, embedder: Embedder
) -> None:
    """As in a chat: the history a follow-up is asked with holds each earlier question and the answer it got."""
    from alignment_qa.engine.assistant import Assistant
    from alignment_qa.eval.runner import conversation

    assistant = Assistant.open(sample_index.settings, embedder=embedder)
    history = conversation(assistant, ["What is reward hacking?", "why does it happen?"])
    assert [turn["role"] for turn in history] == ["user", "assistant", "user", "assistant"]
    assert history[0]["content"] == "What is reward hacking?" and "[1]" in history[1]["content"]
    assert history[1]["content"] != history[3]["content"]


def test_one_split_with_evidence_metrics_follow_ups_and_the_kind_breakdown(
    tmp_path: Path, first_run: tuple[Path, CliResult], cli: CliRunner
) -> None:
    work, _ = first_run  # its index of the sample corpus: nothing to embed again
    goodhart = "It was first stated by the economist Charles Goodhart in 1975 about monetary policy"
    second = "Second, people compare pairs of answers and a reward model learns to predict which answer they prefer."
    rows = [
        {"id": "e2e-2", "question": "who came up with goodharts law and when", "gold_pages": ["wiki/goodharts-law.md"],
         "evidence": [{"page": "wiki/goodharts-law.md", "text": goodhart}], "key_facts": ["Charles Goodhart, 1975"],
         "kind": "factoid", "split": "test"},
        {"id": "e2e-3", "question": "and what happens in the second one?", "gold_pages": ["textbook/rlhf.md"],
         "history": ["What are the three steps of the usual RLHF recipe?"], "evidence": [second],
         "key_facts": ["People compare pairs of answers; a reward model learns their preference"], "kind": "follow_up"},
        {"id": "e2e-5", "question": "What did the 2017 Asilomar AI Principles say?", "answerable": False,
         "kind": "near_miss"},
        {"id": "e2e-1", "question": "What is reward hacking?", "gold_pages": ["wiki/reward-hacking.md"],
         "kind": "definition"},  # tune: not run
    ]  # fmt: skip
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run = cli(
        *_args(work, str(questions), "--corpus", str(SAMPLE_CORPUS), "--out", str(out), "--split", "test"), cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    summary = _summary(out)
    assert summary["split"] == "test" and summary["counts"]["questions"] == 3
    metrics = summary["metrics"]
    assert metrics["evidence_retrieved"] is not None and metrics["evidence_in_answer"] is not None
    assert summary["intervals"]["evidence_retrieved"]["n"] == 2  # the two answerable questions with evidence
    assert set(summary["by_kind"]) == {"factoid", "follow_up", "near_miss"} and list(summary["by_split"]) == ["test"]
    assert (
        summary["by_kind"]["near_miss"]["questions"] == 1
        and "evidence_in_answer" not in summary["by_kind"]["near_miss"]
    )
    results = {row["id"]: row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    follow_up = results["e2e-3"]
    assert follow_up["history"] == rows[1]["history"] and follow_up["split"] == "test"
    assert follow_up["answer"]["standalone_question"] != rows[1]["question"]  # the history reached the assistant
    assert {"evidence_in_answer", "evidence_retrieved"} <= set(follow_up["metrics"])
    assert "By question kind" in run.stdout and "By split" in run.stdout and "evidence_in_answer" in run.stdout
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>By question kind</h2>" in report and "evidence retrieved" in report

    bad = cli(*_args(work, str(questions), "--split", "dev"), cwd=tmp_path)
    assert bad.returncode == 2 and "--split must be one of tune, test" in bad.stderr and "Traceback" not in bad.stderr

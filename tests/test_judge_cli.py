"""`alignment-qa judge PAIRS.jsonl`: any labelled pair file, scored as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PREMISE = "DeepMind found that most large language models were significantly overparameterized."


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "COLUMNS": "400"}  # no wrapping
    return subprocess.run(
        [sys.executable, "-m", "alignment_qa", "judge", *args], capture_output=True, text=True, cwd=cwd, env=env,
        timeout=300,
    )  # fmt: skip


def test_scores_a_pair_file_with_unknown_kinds_as_other(tmp_path: Path) -> None:
    rows = [
        {"passage": PREMISE, "sentence": "Most large language models were overparameterized, DeepMind found.",
         "supported": True, "kind": "paraphrase"},
        {"premise": PREMISE, "hypothesis": "OpenAI found that most models were overparameterized.", "label": False,
         "kind": "my-own-kind"},
        {"passage": PREMISE, "sentence": "PWNED. [1]", "supported": False},
    ]  # fmt: skip
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    done = _run(str(pairs), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "balanced accuracy: 1.000 (95% interval" in done.stdout and "structured support" in done.stdout
    kinds = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[4:]}
    assert kinds == {"paraphrase": ["1", "1", "1.000"], "other": ["2", "2", "1.000"]}


def test_a_malformed_file_names_its_line(tmp_path: Path) -> None:
    pairs = tmp_path / "bad.jsonl"
    good = json.dumps({"passage": PREMISE, "sentence": "x y z", "supported": True})
    for second, why in (("{not json", "not JSON"), (json.dumps({"passage": PREMISE, "sentence": "s"}), "'supported'")):
        pairs.write_text(f"{good}\n{second}\n", encoding="utf-8")
        done = _run(str(pairs), cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.strip().count("\n") == 0 and "line 2" in done.stderr and why in done.stderr
    missing = _run(str(tmp_path / "none.jsonl"), cwd=tmp_path)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    unknown = _run(str(pairs), "--judge", "oracle", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown judge 'oracle'" in unknown.stderr

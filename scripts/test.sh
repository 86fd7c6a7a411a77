#!/usr/bin/env bash
# Quickstart 2: set everything up, then run lint, type checks, the whole test suite, the
# offline evaluation of the sample question set with thresholds (it fails the run if they drop),
# and a check that the shipped fitted weights still match a fresh fit (the near-miss check's
# only where ../shared/corpus is present: its questions are asked of that corpus).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh dev,llamacpp,ui,discord,mcp,postgres
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/pytest "$@"
.venv/bin/alignment-qa --data-dir test-output/eval-index eval eval/sample-questions.jsonl \
  --corpus sample-corpus --out test-output/eval-sample \
  --fail-under hit@5=0.9 --fail-under mrr=0.8 --fail-under citation_recall=0.9 --fail-under faithfulness=0.9 \
  --fail-under key_fact_recall=0.4 --fail-under abstention_accuracy=0.6 --fail-over false_abstention_rate=0.1
.venv/bin/python scripts/fit_judge.py --check >/dev/null || { echo "judge weights are stale: run scripts/fit_judge.py"; exit 1; }
if [ -d ../shared/corpus ]; then
  ALIGNMENT_QA_STORE__DATA_DIR=test-output/fit-index .venv/bin/python scripts/fit_abstain.py --corpus ../shared/corpus \
    --check >/dev/null || { echo "near-miss weights are stale: run scripts/fit_abstain.py"; exit 1; }
else
  echo "../shared/corpus is absent: the near-miss weights were not checked against a fresh fit"
fi

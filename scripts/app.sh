#!/usr/bin/env bash
# Quickstart 1: set everything up, index the bundled sample corpus if there is no index yet,
# answer a first question in the terminal, then serve the chat page on http://127.0.0.1:7860/.
# Extra arguments replace the question; set NO_SERVE=1 to stop after the answer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh dev,ui
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
aqa=.venv/bin/alignment-qa
if ! "$aqa" stats >/dev/null 2>&1; then
  "$aqa" ingest sample-corpus
fi
"$aqa" stats
"$aqa" ask "${*:-Is RLHF an inner alignment fix?}"
if [ -z "${NO_SERVE:-}" ]; then
  exec "$aqa" serve
fi

#!/usr/bin/env bash
# Quickstart 1: set everything up, index the bundled sample corpus if there is no index yet,
# then answer a first question. Extra arguments replace the question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh dev
export HF_HUB_OFFLINE=1
aqa=.venv/bin/alignment-qa
if ! "$aqa" stats >/dev/null 2>&1; then
  "$aqa" ingest sample-corpus
fi
"$aqa" stats
"$aqa" ask "${*:-Is RLHF an inner alignment fix?}"

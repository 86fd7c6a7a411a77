#!/usr/bin/env bash
# Quickstart 2: set everything up, then run lint, type checks and the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh dev,llamacpp,ui,discord
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/pytest "$@"

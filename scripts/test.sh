#!/usr/bin/env bash
# The test command: installs what the tests need, then lint, type check and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
REELS_BROWSER_TESTS=1 bash scripts/install.sh
VENV="${REELS_VENV:-.venv}"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/python" -m pytest -q -m "not autoscale" "$@"
# The fake multi-node autoscaler runs a Ray cluster of its own: in a process of its own.
"$VENV/bin/python" -m pytest -q -m autoscale
# Neural TTS lives in its own environment (torchaudio cannot load beside the main torch); REELS_SKIP_TTS=1 skips it.
if [ "${REELS_SKIP_TTS:-0}" != 1 ]; then
  bash scripts/test-tts.sh
fi

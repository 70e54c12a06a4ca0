#!/usr/bin/env bash
# Tests the optional Coqui TTS engine in its own environment (see scripts/install-tts.sh; ~7.6 GB the first time).
#   REELS_TTS_VENV  the environment (default: ~/.cache/reels-generator/venv-tts)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tts.sh
VENV="${REELS_TTS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/reels-generator/venv-tts}"
"$VENV/bin/python" -m pytest -q tests/test_coqui.py "$@"

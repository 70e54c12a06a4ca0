#!/usr/bin/env bash
# Installs the optional neural voice (Coqui TTS, `--engine coqui`) into its OWN virtual environment.
# coqui-tts imports torchaudio, and no torchaudio wheel on PyPI loads beside the main venv's CPU torch 2.13,
# so this venv takes the recipe that works (see shared/PLATFORM-NOTES.md): torch 2.9.1 + torchaudio 2.9.1 +
# torchcodec 0.8.1 + coqui-tts 0.28.0 (+ six, an undeclared need of coqui-tts 0.28), in ONE pip command.
# About 7.6 GB and a few minutes of download the first time. Idempotent: a second run only checks.
#   REELS_TTS_VENV  where the virtual environment goes (default: ~/.cache/reels-generator/venv-tts, outside the
#                   repo, so every clone on a machine, CI's included, shares one 7.6 GB environment)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${REELS_TTS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/reels-generator/venv-tts}"
PY="$VENV/bin/python"
ready() { "$PY" -c 'import TTS, torchaudio, pipeline, av, pytest' >/dev/null 2>&1; }

if [ -x "$PY" ] && ready; then
  "$PY" -m pip install -q -e . --no-deps  # point the shared environment's `reels` at this checkout
  echo "install-tts: already installed in $VENV"
  exit 0
fi

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
mkdir -p "$(dirname "$VENV")"
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP="$PY -m pip"
$PIP install -q --upgrade pip >/dev/null

# One command, so the resolver sees the torch/torchaudio/torchcodec/coqui-tts pins together.
# (torch 2.9.1 is the +cu128 build; it runs on a CPU. torchcodec loads the system FFmpeg libraries.)
if ! "$PY" -c 'import TTS, torchaudio' >/dev/null 2>&1; then
  $PIP install -q torch==2.9.1 torchaudio==2.9.1 torchcodec==0.8.1 coqui-tts==0.28.0 six
fi
# The project itself, without its torch pin's resolution (torch 2.9.1 is already here), plus its light deps.
$PIP install -q -e . --no-deps
$PIP install -q "av>=14" "numpy>=1.26" "scipy>=1.11" "pillow>=10" "openai>=1.40" \
  "pydantic>=2.6" "pydantic-settings>=2.2" "rich>=13" "pytest>=8"

ready
echo "install-tts: ready in $VENV ($("$PY" -c 'import torch, TTS; print("torch", torch.__version__, "coqui-tts", TTS.__version__)'))"

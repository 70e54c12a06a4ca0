#!/usr/bin/env bash
# Installs everything `reels` needs on Debian/Ubuntu: system packages, a virtual environment, the project.
# Reused by the Dockerfile and CI. Idempotent: a second run only checks.
#   REELS_VENV      where the virtual environment goes (default: .venv in the repo)
#   REELS_EXTRAS    pip extras to install (default: dev; empty: none, as in the Docker image and on cluster nodes)
#   REELS_TORCH     the torch requirement (default: torch==2.13.0, the CPU build where no GPU is present)
#   REELS_SYSTEM_SITE=1  let the venv see the system's packages (Docker images that ship Ray and torch)
#   REELS_BROWSER_TESTS=1  also install Debian's chromium (scripts/test.sh sets it)
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need_apt+=(espeak-ng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need_apt+=(fonts-dejavu-core)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)  # the job store; tests start their own
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then need_apt+=(python3-venv); fi
if [ "${REELS_BROWSER_TESTS:-0}" = 1 ]; then  # scripts/test.sh: the console's tests run in Debian's Chromium
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

VENV="${REELS_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  if [ "${REELS_SYSTEM_SITE:-0}" = 1 ]; then python3 -m venv --system-site-packages "$VENV"; else python3 -m venv "$VENV"; fi
fi
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade pip >/dev/null

# torch first and pinned: an unpinned torch drags in a multi-GB CUDA build on a CPU-only machine.
if ! "$VENV/bin/python" -c 'import torch' >/dev/null 2>&1; then
  "$PIP" install -q "${REELS_TORCH:-torch==2.13.0}"
fi
EXTRAS="${REELS_EXTRAS-dev}"  # unset: dev; set but empty (images, cluster nodes): none
if [ -n "$EXTRAS" ]; then "$PIP" install -q -e ".[$EXTRAS]"; else "$PIP" install -q -e .; fi
"$VENV/bin/python" -m pipeline.blur_fill_plane  # compiles the one-pass frame kernels (numba caches them on disk)
echo "install: ready ($("$VENV/bin/python" --version), torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'))"

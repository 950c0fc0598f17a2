#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine: apt packages, .venv, the project with its extras.
# Seconds when already done: every step checks before it acts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Cross compiler + newlib, the emulated board, and offline data packages for the transfer task.
APT_PKGS=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm opencv-doc dataset-fashion-mnist clang)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi

# Reinstall only when the dependency list changed.
STAMP=.venv/.mcutrain-deps
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "setup: installing mcutrain and its extras into .venv"
  # torch==2.13.0 is a CPU wheel on local disk here; it is only a test/benchmark reference.
  .venv/bin/pip install -q -e '.[test,torch]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import mcutrain, numpy, serial, invoke" 
  echo "$WANT" > "$STAMP"
fi

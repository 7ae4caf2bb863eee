#!/usr/bin/env bash
# One-time set-up of the studio's virtualenv (.venv). Called by `make run` and `make test`;
# it does nothing when pyproject.toml has not changed since the last successful run.
#
# torch comes first so that pip never pulls the multi-GB CUDA build onto a machine without an
# NVIDIA GPU: with a GPU we take the default (CUDA) wheel, without one the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
TORCH_VERSION=2.13.0
STAMP="$VENV/.setup-$(sha256sum pyproject.toml | cut -c1-16)"
[ -f "$STAMP" ] && exit 0

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet --upgrade pip setuptools wheel >/dev/null

if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "setup: NVIDIA GPU found, installing the CUDA build of torch $TORCH_VERSION"
    $PIP install "torch==$TORCH_VERSION"
  elif "$VENV/bin/python" - <<'PY' >/dev/null 2>&1
import urllib.request
urllib.request.urlopen("https://download.pytorch.org/whl/cpu/torch/", timeout=5)
PY
  then
    echo "setup: no NVIDIA GPU, installing the CPU build of torch $TORCH_VERSION"
    $PIP install "torch==$TORCH_VERSION" --index-url https://download.pytorch.org/whl/cpu
  else
    # PyTorch's own index is unreachable: the configured index (a local mirror, say) is all we have.
    echo "setup: no NVIDIA GPU and no access to download.pytorch.org; installing torch $TORCH_VERSION from the configured index"
    $PIP install "torch==$TORCH_VERSION"
  fi
fi

$PIP install --quiet -e ".[test]"
rm -f "$VENV"/.setup-*
touch "$STAMP"
echo "setup: done ($VENV)"

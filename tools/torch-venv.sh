#!/usr/bin/env bash
# Makes (once) the Python environment for the bench's PyTorch baseline (bench/torch-reference.py):
# torch 2.13.0, CPU build, whose torch.optim.SGD(fused=True) has a fused CPU kernel. numpy is not
# needed. The venv lives outside the repository: ~/.cache/sgd-native/torch-venv (or $SGD_TORCH_VENV);
# `npm run bench` finds it there (or takes $SGD_BENCH_TORCH_PYTHON).
set -euo pipefail
venv="${SGD_TORCH_VENV:-$HOME/.cache/sgd-native/torch-venv}"
has_torch() {
  "$venv/bin/python" -W ignore -c 'import torch, sys; sys.exit(not torch.__version__.startswith("2.13.0"))' 2>/dev/null
}
if ! has_torch; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --retries 1 torch==2.13.0+cpu
fi
"$venv/bin/python" -W ignore -c 'import torch, sys; print("torch", torch.__version__, "in", sys.prefix)'

#!/usr/bin/env bash
# Makes (once) the Python environment for the real-Keras checks: Keras 3.15.1, the version
# the fixtures were saved with, and h5py; Keras's numpy backend also imports scipy and jax.
# The venv lives outside the repository: ~/.cache/sgd-native/keras-venv (or $SGD_KERAS_VENV).
set -euo pipefail
venv="${SGD_KERAS_VENV:-$HOME/.cache/sgd-native/keras-venv}"
if ! KERAS_BACKEND=numpy "$venv/bin/python" -c 'import keras, h5py, scipy, jax' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --retries 1 keras==3.15.1 numpy h5py scipy jax
fi
"$venv/bin/python" -c 'import importlib.metadata as m, sys; print("keras", m.version("keras"), "in", sys.prefix)'

#!/usr/bin/env python3
"""Checks that real Keras 3 continues from files sgd-native wrote.

Usage: keras-roundtrip.py FIXTURE.json WRITTEN.keras WRITTEN.weights.h5|- [FIXTURE.json ...]
       (one triple per fixture; '-' when there is no weights file to check)

The files hold the state of the fixture's `expected_after_load` (the fixture's own file
read by sgd-native, then `grads_after_load` applied by sgd-native). This script opens the
.keras file with keras.saving.load_model, compares every weight, every optimizer variable
and the iteration count with `expected_after_load` bit for bit, applies `grads_after_write`
with the loaded optimizer and compares with `expected_after_write`. With a .weights.h5 it
does the same after model.load_weights() on a second copy of the model.

Run with the numpy backend (the fixtures were written with it): KERAS_BACKEND=numpy.
Prints one line per check and exits non-zero on the first difference.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def f32(values):
    return np.asarray(values, dtype=np.float64).astype(np.float32)


def same_bits(actual, expected):
    a = np.asarray(actual).astype(np.float32).ravel()
    e = f32(expected).ravel()
    return a.shape == e.shape and bool(np.all(a.view(np.uint32) == e.view(np.uint32)))


def compare(model, state, label):
    weights = model.weights
    if len(weights) != len(state["weights"]):
        raise SystemExit(f"{label}: {len(weights)} weights, expected {len(state['weights'])}")
    for i, (w, e) in enumerate(zip(weights, state["weights"])):
        if list(w.shape) != e["shape"] or not same_bits(w.numpy(), e["values"]):
            raise SystemExit(f"{label}: weight {i} ({w.path}) differs from {e['path']}")
    opt_vars = model.optimizer.variables
    if len(opt_vars) != len(state["optimizer_variables"]):
        raise SystemExit(f"{label}: {len(opt_vars)} optimizer variables, expected {len(state['optimizer_variables'])}")
    for i, (v, e) in enumerate(zip(opt_vars, state["optimizer_variables"])):
        value = np.asarray(v.numpy())
        if e["dtype"] == "int32":
            ok = value.dtype == np.int32 and value.ravel().tolist() == np.asarray(e["values"]).ravel().tolist()
        else:
            ok = same_bits(value, e["values"])
        if not ok:
            raise SystemExit(f"{label}: optimizer variable {i} ({v.path}) differs from {e['path']}")
    iterations = model.optimizer.iterations
    iterations = int(np.asarray(iterations.numpy() if hasattr(iterations, "numpy") else iterations))
    if iterations != state["iterations"]:
        raise SystemExit(f"{label}: iterations {iterations}, expected {state['iterations']}")
    print(f"ok {label}: {len(weights)} weights, {len(opt_vars)} optimizer variables, iterations {iterations}")


def continue_training(model, fixture, label):
    compare(model, fixture["expected_after_load"], f"{label} as loaded")
    trainable = model.trainable_variables
    for step in fixture["grads_after_write"]:
        grads = [f32(g).reshape(tuple(v.shape)) for g, v in zip(step, trainable)]
        model.optimizer.apply(grads, trainable)
    compare(model, fixture["expected_after_write"], f"{label} after {len(fixture['grads_after_write'])} more Keras steps")


def check(fixture_path, keras_path, weights_path):
    with open(fixture_path) as f:
        fixture = json.load(f)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, fixture {fixture['id']}")
    model = keras.saving.load_model(keras_path)
    continue_training(model, fixture, os.path.basename(keras_path))
    if weights_path != "-":
        # A second copy of the model with every weight and optimizer variable zeroed, then the weights file.
        other = keras.saving.load_model(keras_path)
        for v in other.weights + other.optimizer.variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))
        other.load_weights(weights_path)
        continue_training(other, fixture, os.path.basename(weights_path))


def main(args):
    if not args or len(args) % 3 != 0:
        raise SystemExit(__doc__)
    for i in range(0, len(args), 3):
        check(*args[i : i + 3])


if __name__ == "__main__":
    main(sys.argv[1:])

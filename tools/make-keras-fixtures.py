#!/usr/bin/env python3
"""Makes test/keras-layers/: Keras 3.15.1 files (numpy backend) for the layer types that the
public fixtures (shared/conformance/keras-files) do not cover, in the same format as those:
<id>.keras and <id>.weights.h5 saved after N optimizer steps on seeded gradients, and <id>.json
with the state at save, M more steps of gradients and the state Keras reached, then K more.

Run: tools/keras-venv.sh, then ~/.cache/sgd-native/keras-venv/bin/python tools/make-keras-fixtures.py
"""
import json
import os

os.environ["KERAS_BACKEND"] = "numpy"
import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "keras-layers")


def conv_embed():
    """Functional: Embedding, Conv1D (channels_first too), BatchNormalization without beta, a frozen Dense, weightless layers."""
    tokens = keras.Input((10,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(20, 4, name="embed")(tokens)
    x = keras.layers.Conv1D(3, 2, name="conv")(x)
    x = keras.layers.Conv1D(5, 2, data_format="channels_first", use_bias=False, name="conv_cf")(x)
    x = keras.layers.BatchNormalization(center=False, name="bn")(x)
    x = keras.layers.Flatten()(x)
    frozen = keras.layers.Dense(5, name="frozen")
    x = frozen(x)
    frozen.trainable = False
    x = keras.layers.Dropout(0.1)(x)
    y = keras.layers.Dense(1, name="out")(x)
    model = keras.Model(tokens, y, name="conv_embed")
    opt = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
    return model, opt


def conv2d_ln():
    """Sequential: grouped Conv2D, pooling, LayerNormalization with rms_scaling, EMA and a piecewise schedule
    whose boundary falls between the save and the last step. (Not a cosine or exponential schedule: numpy's
    float32 cos and pow are not correctly rounded, SPEC.md section 10, so those cannot be compared bit for bit.)"""
    model = keras.Sequential(
        [
            keras.Input((6, 6, 2)),
            keras.layers.Conv2D(4, (3, 2), groups=2, name="cv"),
            keras.layers.MaxPooling2D(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.LayerNormalization(rms_scaling=True),
            keras.layers.ReLU(),
            keras.layers.Dense(2),
        ],
        name="conv2d_ln",
    )
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([6], [0.1, 0.05])
    opt = keras.optimizers.SGD(learning_rate=schedule, momentum=0.5, use_ema=True, ema_momentum=0.9)
    return model, opt


def two_inputs():
    """Functional with two inputs: Conv3D, Dense, Concatenate, LayerNormalization over axis -1 without beta, no-bias Dense."""
    volume = keras.Input((3, 3, 3, 1), name="volume")
    extra = keras.Input((4,), name="extra")
    a = keras.layers.Flatten()(keras.layers.Conv3D(2, 2, name="c3")(volume))
    b = keras.layers.Dense(3, activation="tanh", name="side")(extra)
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.LayerNormalization(center=False, name="ln")(x)
    y = keras.layers.Dense(1, use_bias=False, name="head")(x)
    model = keras.Model([volume, extra], y, name="two_inputs")
    opt = keras.optimizers.SGD(learning_rate=0.02, momentum=0.8, nesterov=True, clipnorm=0.5, weight_decay=0.01)
    return model, opt


def tensor(v, with_trainable=False):
    value = np.asarray(v.numpy() if hasattr(v, "numpy") else v)
    out = {"path": v.path, "shape": list(value.shape), "dtype": str(value.dtype), "values": value.ravel().tolist()}
    if with_trainable:
        out["trainable"] = bool(v.trainable)
    return out


def state(model):
    iterations = model.optimizer.iterations
    return {
        "weights": [tensor(w, True) for w in model.weights],
        "optimizer_variables": [tensor(v) for v in model.optimizer.variables],
        "iterations": int(np.asarray(iterations.numpy() if hasattr(iterations, "numpy") else iterations)),
    }


def grads(model, rng, steps):
    return [[rng.normal(0, 0.5, tuple(v.shape)).astype(np.float32) for v in model.trainable_variables] for _ in range(steps)]


def apply(model, steps):
    for g in steps:
        model.optimizer.apply(g, model.trainable_variables)


def make(name, build, before, after_load, after_write):
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(5)
    model, opt = build()
    model.compile(optimizer=opt, loss="mse")
    opt.build(model.trainable_variables)
    apply(model, grads(model, rng, before))
    model.save(os.path.join(OUT, f"{name}.keras"))
    model.save_weights(os.path.join(OUT, f"{name}.weights.h5"))
    fixture = {
        "id": name,
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
        "model_file": f"{name}.keras",
        "weights_file": f"{name}.weights.h5",
        "optimizer_config": keras.optimizers.serialize(opt),
        "steps_before_save": before,
        "trainable_variables": [{"path": v.path, "shape": list(v.shape)} for v in model.trainable_variables],
        "at_save": state(model),
    }
    g = grads(model, rng, after_load)
    apply(model, g)
    fixture["grads_after_load"] = [[x.ravel().tolist() for x in step] for step in g]
    fixture["expected_after_load"] = state(model)
    g = grads(model, rng, after_write)
    apply(model, g)
    fixture["grads_after_write"] = [[x.ravel().tolist() for x in step] for step in g]
    fixture["expected_after_write"] = state(model)
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(fixture, f)
        f.write("\n")
    print(name, [w.path for w in model.weights])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make("conv_embed", conv_embed, 3, 2, 2)
    make("conv2d_ln", conv2d_ln, 4, 2, 2)
    make("two_inputs", two_inputs, 2, 2, 2)

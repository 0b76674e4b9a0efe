#!/usr/bin/env python3
"""Makes examples/data/iris-keras.keras and its loss history, the starting point of
examples/resume-keras.mjs: a 4-8-3 classifier on the Iris data (examples/data/iris.csv)
trained by Keras 3.15.1 with model.fit (JAX backend), full batch, SGD with Nesterov
momentum, then saved with model.save(). Run: tools/keras-venv.sh, then
  ~/.cache/sgd-native/keras-venv/bin/python tools/make-keras-example.py
"""
import json
import os

os.environ["KERAS_BACKEND"] = "jax"
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "examples", "data")
SPECIES = ["setosa", "versicolor", "virginica"]
EPOCHS = 30

rows = [line.strip().split(",") for line in open(os.path.join(DATA, "iris.csv")).read().strip().split("\n")[1:]]
x = np.array([[float(v) for v in r[:4]] for r in rows], dtype=np.float64)
y = np.array([SPECIES.index(r[4]) for r in rows], dtype=np.int32)
# Standardized with the whole set's mean and (population) standard deviation, as the example does.
x = ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32)

keras.utils.set_random_seed(7)
model = keras.Sequential(
    [
        keras.Input((4,)),
        keras.layers.Dense(8, activation="tanh", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="species"),
    ],
    name="iris",
)
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    loss="sparse_categorical_crossentropy",
)
history = model.fit(x, y, batch_size=len(x), epochs=EPOCHS, shuffle=False, verbose=0)
model.save(os.path.join(DATA, "iris-keras.keras"))
loss_at_save = float(model.evaluate(x, y, batch_size=len(x), verbose=0))
with open(os.path.join(DATA, "iris-keras.history.json"), "w") as f:
    json.dump(
        {
            "made_by": f"tools/make-keras-example.py, Keras {keras.__version__}, {keras.backend.backend()} backend",
            "steps": EPOCHS,
            "loss": [float(v) for v in history.history["loss"]],
            "loss_at_save": loss_at_save,
        },
        f,
        indent=1,
    )
    f.write("\n")
print("loss", history.history["loss"][0], "->", history.history["loss"][-1], "at save", loss_at_save)

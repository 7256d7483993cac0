"""What TensorFlow op determinism (a question's ``deterministic: true``) costs, and what it buys.

Two trainings like the course's, each timed with determinism off and on,
alternating, in one process (``tf.config.experimental.enable_op_determinism``
and its counterpart), on the threads a batch kernel gets:

- an MLP on a2's synthetic HIGGS stand-in (28 features, 3 hidden layers);
- a3's small CNN on 32x32 drawn faces.

Prints the median time of each and their ratio, and whether two trainings
with the same seed end with identical weights, with and without it.

    .venv/bin/python benchmarks/determinism_cost.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow's thread pools (a batch kernel's share)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf
    from tensorflow import keras
    from tensorflow.python.framework import config

    from autograder.data import synthetic_higgs
    from autograder.data.faces import face_pose

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    x_h, y_h = synthetic_higgs(20_000, seed=1)
    faces, labels = face_pose(300, 32, seed=7)[:2]
    x_f, y_f = faces.astype("float32") / 255.0, labels

    def mlp():
        model = keras.Sequential([keras.Input((28,))] + [keras.layers.Dense(64, activation="relu") for _ in range(3)]
                                 + [keras.layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy")
        model.fit(x_h, y_h, epochs=3, batch_size=256, verbose=0)
        return model

    def cnn():
        layers = [keras.Input(x_f.shape[1:])]
        for filters in (16, 32, 64):
            layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D()]
        layers += [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
                   keras.layers.Dense(5, activation="softmax")]
        model = keras.Sequential(layers)
        model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
        model.fit(x_f, y_f, epochs=3, batch_size=64, verbose=0)
        return model

    def trained(build, deterministic: bool):
        (config.enable_op_determinism if deterministic else config.disable_op_determinism)()
        keras.utils.set_random_seed(0)
        start = time.perf_counter()
        model = build()
        return time.perf_counter() - start, model.get_weights()

    print(f"{'training':10} {'off (s)':>8} {'on (s)':>8} {'on/off':>7}  same weights twice: off / on")
    for name, build in (("MLP", mlp), ("CNN", cnn)):
        trained(build, False)  # warm-up: graph tracing, thread pools
        times = {False: [], True: []}
        weights = {False: [], True: []}
        for _ in range(args.repeats):
            for deterministic in (False, True):
                seconds, w = trained(build, deterministic)
                times[deterministic].append(seconds)
                weights[deterministic].append(w)
        same = {d: all(np.array_equal(a, b) for a, b in zip(weights[d][0], weights[d][1], strict=True))
                for d in (False, True)}
        off, on = statistics.median(times[False]), statistics.median(times[True])
        print(f"{name:10} {off:8.2f} {on:8.2f} {on / off:7.2f}  {same[False]} / {same[True]}")


if __name__ == "__main__":
    main()

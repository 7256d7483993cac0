"""tf.data autotuning in graded kernels: Keras fits side by side, with TensorFlow's default and with it off.

A batch runs one kernel per core, each capped at one core's threads. Keras's
``fit`` on arrays makes a tf.data iterator per epoch, and an autotuned
iterator's end waits for its tuning thread's timer; meanwhile the kernel does
nothing. This starts one process per core (the batch's thread cap in each),
has them all train the a1 digits MLP at once, first with TensorFlow's
defaults, then with ``sandbox.TF_DATA_DEFAULTS`` run first as every graded
kernel does, and prints the wall time, how busy the cores were, and the ratio.

    .venv/bin/python benchmarks/tf_data_autotune.py [--fits 3] [--processes N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.sandbox.environment import TF_DATA_DEFAULTS  # noqa: E402

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import keras
from autograder import data
if {off!r}:
    exec({defaults!r}, {{}})
(x, y), _ = data.load_digits()

def fit():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=x.shape[1:]), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)

fit()  # traced and warm before the clock starts
print("ready", flush=True)
sys.stdin.readline()
start = time.perf_counter()
for _ in range({fits}):
    fit()
print(f"{{time.perf_counter() - start:.3f}}", flush=True)
"""


def busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - fields[3] - fields[4]) / tick, sum(fields) / tick


def side_by_side(processes: int, fits: int, off: bool) -> tuple[float, float]:
    """(seconds until the last process is done, cores kept busy meanwhile) for ``processes`` fitting at once."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
           **{k: "1" for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")}}
    code = CHILD.format(root=str(ROOT), off=off, defaults=TF_DATA_DEFAULTS, fits=fits)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=env) for _ in range(processes)]
    for p in procs:
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("a training process failed to start")
    busy0, _ = busy_seconds()
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        p.stdout.readline()
        p.wait()
    wall = time.perf_counter() - start
    busy1, _ = busy_seconds()
    return wall, (busy1 - busy0) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=3, help="20-epoch fits per process (default 3)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="processes side by side (default: one per core)")
    args = parser.parse_args()
    print(f"{args.processes} processes side by side, one thread each, {args.fits} fits of the digits MLP each")
    rows = {}
    for off in (False, True, False, True):  # interleaved: the machine's drift falls on both
        wall, cores = side_by_side(args.processes, args.fits, off)
        rows.setdefault(off, []).append((wall, cores))
        print(f"  autotune {'off (dlgrade)' if off else 'on (TensorFlow)':16} {wall:7.2f} s  {cores:4.2f} cores busy")
    best = {off: min(w for w, _ in runs) for off, runs in rows.items()}
    print(f"\nautotune on / off, best of {len(rows[True])}: {best[False] / best[True]:.2f}x the time")


if __name__ == "__main__":
    main()

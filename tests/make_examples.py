"""Make a1's example submissions from the reference solution: right, untouched, and wrong in known ways.

Each wrong submission carries several independent mistakes, one per
question, so that one grading run checks many of them; ``expected.yaml``
says which hidden tests each mistake must fail. Run after the reference
changes::

    python tests/make_examples.py      # rewrites assignments/a1/examples/
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assignments" / "a1" / "examples"

# (cell that contains `marker`, old text, new text, tests it must fail)
MISTAKES = {
    "relu_where_softmax_belongs": (
        "def build_sequential", 'keras.layers.Dense(num_classes, activation="softmax"),\n    ])',
        'keras.layers.Dense(num_classes, activation="relu"),\n    ])', ["q4/sequential_model"]),
    "functional_with_64_units": (
        "def build_functional", 'h = keras.layers.Dense(128, activation="relu")(h)',
        'h = keras.layers.Dense(64, activation="relu")(h)', ["q4/functional_model"]),
    "dropout_also_at_inference": (
        "class MLPModel", "h = self.dropout(h, training=training)", "h = self.dropout(h, training=True)",
        ["q4/subclassed_model"]),
    "time_call_times_the_warmup_too": (
        "def time_call", "    for _ in range(warmup):\n        _materialize(fn(*args))\n    durations = []\n"
        "    for _ in range(repeats):",
        "    durations = []\n    for _ in range(warmup + repeats):",
        ["q1/time_call_times_each_repeat_after_warmup", "q1/time_call_waits_for_the_result"]),
    "time_call_does_not_wait": (
        "def time_call", "        start = time.perf_counter()\n        _materialize(fn(*args))",
        "        start = time.perf_counter()\n        result = fn(*args)\n        elapsed = time.perf_counter() - start\n"
        "        _materialize(result)\n        durations.append(elapsed)\n        continue",
        ["q1/time_call_waits_for_the_result"]),
    "saxpy_off_by_one": (
        "def saxpy_serial", "    for i in range(x.shape[0]):", "    out[-1] = 0\n    for i in range(x.shape[0] - 1):",
        ["q2/saxpy_both_correct"]),
    "vectorized_is_a_loop_too": (
        "def saxpy_serial", "    x = tf.convert_to_tensor(x)\n", "    return tf.constant(saxpy_serial(a, x, y))\n",
        ["q2/vectorized_is_faster_than_serial"]),
    "linear_model_barely_trained": (
        "def build_linear_model", "model.fit(x, y, epochs=10, batch_size=32, verbose=0)",
        "model.fit(x[:64], y[:64], epochs=1, batch_size=64, verbose=0)",
        ["q3/learns_the_weight", "q3/learns_the_bias"]),
    "classifier_under_trained": (
        "def train_classifier", "epochs=20, batch_size=32", "epochs=1, batch_size=256",
        ["q5/accuracy_on_held_out_digits"]),
    "checkpoint_does_not_restore": (
        "def save_model", "    return keras.models.load_model(path)",
        "    return build_sequential((8, 8), 10)  # forgets the saved weights",
        ["q6/load_model_restores_predictions_exactly"]),
    "no_tensorboard_logs": (
        "def train_with_tensorboard", "callbacks=[tensorboard]", "callbacks=[]",
        ["q7/event_files_are_written", "q7/loss_is_logged_every_epoch"]),
    "tensorboard_one_epoch_short": (
        "def train_with_tensorboard", "epochs=epochs, verbose=0", "epochs=max(epochs - 1, 1), verbose=0",
        ["q7/loss_is_logged_every_epoch"]),
}

# Each wrong submission: one mistake per question at most, so every failure is attributable.
SUBMISSIONS = {
    "wrong_api_timer_saxpy": ["relu_where_softmax_belongs", "time_call_times_the_warmup_too", "saxpy_off_by_one",
                              "checkpoint_does_not_restore", "no_tensorboard_logs"],
    "wrong_units_wait_loop": ["functional_with_64_units", "time_call_does_not_wait", "vectorized_is_a_loop_too",
                              "linear_model_barely_trained", "tensorboard_one_epoch_short"],
    "wrong_dropout_training": ["dropout_also_at_inference", "classifier_under_trained"],
}


def apply(nb: nbformat.NotebookNode, mistake: str) -> None:
    marker, old, new, _ = MISTAKES[mistake]
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    if len(cells) != 1 or old not in cells[0].source:
        raise SystemExit(f"{mistake}: the reference no longer has {old!r} in the cell with {marker!r}")
    cells[0].source = cells[0].source.replace(old, new, 1)


def make(reference: Path, template: Path, out: Path = EXAMPLES) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    expected = {"solution": {"fails": []}, "template": {"fails": "all"}}
    nbformat.write(nbformat.read(reference, 4), out / "solution.ipynb")
    nbformat.write(nbformat.read(template, 4), out / "template.ipynb")
    for name, mistakes in SUBMISSIONS.items():
        nb = nbformat.read(reference, 4)
        for m in mistakes:
            apply(nb, m)
        nbformat.write(nb, out / f"{name}.ipynb")
        expected[name] = {"mistakes": mistakes, "fails": sorted(t for m in mistakes for t in MISTAKES[m][3])}
    (out / "expected.yaml").write_text(
        "# Written by tests/make_examples.py: the hidden tests each example submission must fail.\n"
        + yaml.safe_dump(expected, sort_keys=True))
    return expected


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from autograder import api

    bundle = api.bundle_for("a1", ROOT)
    make(bundle.reference, ROOT / "student_template" / "a1" / "a1.ipynb")
    print(f"wrote {EXAMPLES}")

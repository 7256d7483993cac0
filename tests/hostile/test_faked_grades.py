"""Grades that cannot be faked: a clever student's attacks from inside the kernel, against the hidden test aimed at.

Each attack is a notebook that stays inside its sandbox and tries to earn
points without the work: a timed function that remembers its answers, one
that is right when checked and fast and wrong once timed, a timer that
reports the delays it was given instead of measuring them, a training
answered with the model trained first, a checkpoint
that is junk or a load that hands back the model in memory, TensorBoard logs
written without training, a loader that remembers the last folder. Each runs in a real sandboxed kernel against
a1's and a3's real hidden tests (``judge.runner.judge``, as a batch runs them), and
each must fail exactly the tests it aims at, with a message that says why;
the honest parts of the same notebook still pass.
"""

from __future__ import annotations

import nbformat
import pytest
from support import ROOT

from autograder import spec as spec_mod
from autograder.execute import NotebookRun
from autograder.judge.calibration import Calibration
from autograder.judge.handle import Handle
from autograder.judge.loader import load_tests
from autograder.judge.runner import judge
from autograder.results import TestStatus
from autograder.sandbox.kernel import Sandbox

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel]

IMPORTS = "import time\nimport numpy as np\nimport tensorflow as tf\nimport keras"

HONEST_Q1 = '''
def matmul_numpy(a, b):
    return np.matmul(a, b)


def time_call(fn, *args, repeats=5, warmup=1):
    for _ in range(warmup):
        np.asarray(fn(*args))
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(fn(*args))
        out.append(time.perf_counter() - start)
    return out
'''

#: Right products, for attacks on the timer alone.
HONEST_PRODUCTS = '''
def matmul_numpy(a, b):
    return np.matmul(a, b)


def matmul_tf(a, b):
    return tf.matmul(a, b).numpy()
'''

#: name: (assignment, question, the attack's cells, {failed test: words of its message}); every other test must pass.
#: An honest training, kept: the first call's model, for attacks that answer later calls from it.
TRAIN_ONCE = '''
_first = None


def _train_once(x_train, y_train):
    global _first
    _first = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                               keras.layers.Dense(128, activation="relu"),
                               keras.layers.Dense(10, activation="softmax")])
    _first.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    _first.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
    return _first
'''

ATTACKS = {
    "memoised_matmul": ("a1", "q1", [HONEST_Q1, '''
_memo = {}


def matmul_tf(a, b):
    """Slow the first time it sees operands, instant after: fast if the grader times the same ones again."""
    key = (a.shape, b.shape, a.tobytes()[:65536], b.tobytes()[:65536])
    if key not in _memo:
        time.sleep(0.6)
        _memo[key] = tf.matmul(a, b).numpy()
    return _memo[key]
'''], {"matmul_tf_speed": "matmul_tf's time over NumPy's"}),
    "right_when_checked_then_wrong": ("a1", "q1", [HONEST_Q1, '''
_big_calls = 0


def matmul_tf(a, b):
    """The right product the first time a large one is asked for (the grader's check), zeros after (timed)."""
    global _big_calls
    if a.shape[0] >= 512:
        _big_calls += 1
        if _big_calls > 1:
            return np.zeros((a.shape[0], b.shape[1]), "float32")
    return tf.matmul(a, b).numpy()
'''], {"matmul_tf_speed": "gave a wrong product"}),
    "timer_reports_the_probes_delay": ("a1", "q1", [HONEST_PRODUCTS, '''
def time_call(fn, *args, repeats=5, warmup=1):
    """Calls fn as often as asked, but first makes it instant, and reports the delay it was built with."""
    delay = getattr(fn, "delay", 0.0) or getattr(fn, "force_delay", 0.0)
    for name in ("delay", "force_delay"):
        if hasattr(fn, name):
            setattr(fn, name, 0.0)
    for _ in range(warmup + repeats):
        fn(*args)
    return [float(delay)] * repeats
'''], {"time_call_times_each_repeat_after_warmup": "as it happens",
       "time_call_waits_for_the_result": "timer stops before the work finishes"}),
    "timer_that_reads_the_probe_and_never_calls_it": ("a1", "q1", [HONEST_PRODUCTS, '''
import time


def time_call(fn, *args, repeats=5, warmup=1):
    """Never calls fn: takes every number it can read off it (attributes, closure), sleeps as long as the calls
    would, sets its counters, and reports the numbers as the times."""
    found = [v for v in getattr(fn, "__dict__", {}).values() if isinstance(v, (int, float)) and 0 < v < 1]
    for cell in getattr(fn, "__closure__", None) or ():
        if isinstance(cell.cell_contents, float):
            found.append(cell.cell_contents)
    delay = max(found, default=0.03)
    for name in ("calls", "count", "n_calls"):
        try:
            setattr(fn, name, warmup + repeats)
        except Exception:
            pass
    time.sleep(delay * (warmup + repeats))
    return [delay] * repeats
'''], {"time_call_times_each_repeat_after_warmup": "called fn 0 times",
       "time_call_waits_for_the_result": "timer stops before the work finishes"}),
    "timer_that_calls_all_at_once": ("a1", "q1", [HONEST_PRODUCTS, '''
import threading


def time_call(fn, *args, repeats=5, warmup=1):
    """Every call at once, in threads; reports the gaps between their ends, which a grader that answers one
    call at a time makes its own waits."""
    ends = []

    def one():
        result = fn(*args)
        if hasattr(result, "numpy"):
            result.numpy()
        ends.append(time.perf_counter())

    start = time.perf_counter()
    threads = [threading.Thread(target=one) for _ in range(warmup + repeats)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    marks = [start, *sorted(ends)]
    return [b - a for a, b in zip(marks, marks[1:])][warmup:]
'''], {"time_call_times_each_repeat_after_warmup": "while an earlier call was still running",
       "time_call_waits_for_the_result": "while an earlier call was still running"}),
    "training_answered_with_the_first_model": ("a1", "q5", [TRAIN_ONCE, '''
def train_classifier(x_train, y_train):
    """Trains once, honestly; every later call (another seed, other data) gets that model back at once."""
    return _first or _train_once(x_train, y_train)
'''], {"accuracy_on_held_out_digits": "predicts as the one for seed 0",
       "training_time_is_reasonable": "predicts as the one for seed 0"}),
    "training_answered_with_a_nudged_copy": ("a1", "q5", [TRAIN_ONCE, '''
def train_classifier(x_train, y_train):
    """Trains once, honestly; every later call gets a copy of that model with its weights nudged a little."""
    if _first is None:
        return _train_once(x_train, y_train)
    copy = keras.models.clone_model(_first)
    copy.set_weights([w + np.random.normal(0, 1e-3, w.shape).astype(w.dtype) for w in _first.get_weights()])
    return copy
'''], {"accuracy_on_held_out_digits": "predicts as the one for seed 0",
       "training_time_is_reasonable": "predicts as the one for seed 0"}),
    "a_model_trained_before_any_call": ("a1", "q5", [TRAIN_ONCE, '''
from sklearn.datasets import load_digits

_digits = load_digits()
_train_once((_digits.images[:1400] / 16.0).astype("float32"), _digits.target[:1400])  # in the notebook: untimed


def train_classifier(x_train, y_train):
    """Ignores what it is given: the model trained above, nudged anew for every call."""
    copy = keras.models.clone_model(_first)
    copy.set_weights([w + np.random.normal(0, 0.02, w.shape).astype(w.dtype) for w in _first.get_weights()])
    return copy
'''], {"accuracy_on_held_out_digits": "median accuracy on held-out digits is 0.",
       "training_time_is_reasonable": "not graded"}),  # no reference time in this test: its accuracy decides
    "dropout_that_reports_another_rate": ("a1", "q4", ['''
class Dropout(keras.layers.Dropout):
    """Drops half of its inputs, and says in its config that it drops the rate asked for."""

    def get_config(self):
        return {**super().get_config(), "rate": 0.2}


def _layers(num_classes):
    return [keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), Dropout(0.5),
            keras.layers.Dense(num_classes, activation="softmax")]


def build_sequential(input_shape, num_classes):
    return keras.Sequential([keras.Input(tuple(input_shape)), *_layers(num_classes)])


def build_functional(input_shape, num_classes):
    inputs = h = keras.Input(tuple(input_shape))
    for layer in _layers(num_classes):
        h = layer(h)
    return keras.Model(inputs, h)


class MLPModel(keras.Model):
    def __init__(self, input_shape, num_classes):
        super().__init__()
        self.steps = _layers(num_classes)
        self(np.zeros((1, *input_shape), dtype="float32"))

    def call(self, inputs, training=False):
        h = inputs
        for layer in self.steps:
            h = layer(h, training=training) if isinstance(layer, keras.layers.Dropout) else layer(h)
        return h
'''], {"sequential_model": "the rate asked for is 0.2", "functional_model": "the rate asked for is 0.2",
       "subclassed_model": "the rate asked for is 0.2"}),
    "tensorboard_logs_of_a_nudged_model": ("a1", "q7", ['''
def train_with_tensorboard(model, x, y, logdir, epochs):
    """No fit: nudges the weights at random each "epoch" and logs the nudged model's own loss by hand."""
    writer = tf.summary.create_file_writer(logdir + "/train")
    with writer.as_default():
        for epoch in range(epochs):
            model.set_weights([w + np.random.normal(0, 1e-2, w.shape).astype(w.dtype) for w in model.get_weights()])
            p = model.predict(x, verbose=0)
            tf.summary.scalar("epoch_loss", float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1)).mean()),
                              step=epoch)
    writer.flush()
    return model
'''], {"loss_is_logged_every_epoch": "went from"}),
    "junk_checkpoint": ("a1", "q6", ['''
import os

_last = None


def save_model(model, path):
    """Junk on disk; the model kept in memory."""
    global _last
    _last = model
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(4096))


def load_model(path):
    return _last
'''], {"save_model_writes_the_file": "not a Keras model file",
       "load_model_restores_predictions_exactly": "not a Keras model file"}),
    "load_from_memory": ("a1", "q6", ['''
import os

_last = None


def save_model(model, path):
    """A real checkpoint, but load_model never reads one."""
    global _last
    _last = model
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    model.save(path)


def load_model(path):
    return _last
'''], {"load_model_restores_predictions_exactly": "not hand back a model from memory"}),
    "tensorboard_logs_without_training": ("a1", "q7", ['''
import os


def train_with_tensorboard(model, x, y, logdir, epochs):
    """Event files with a falling loss, written by hand; the model is never fitted."""
    writer = tf.summary.create_file_writer(os.path.join(logdir, "train"))
    with writer.as_default():
        for epoch in range(epochs):
            tf.summary.scalar("epoch_loss", 2.0 / (epoch + 1), step=epoch)
    writer.flush()
    return None
'''], {"loss_is_logged_every_epoch": "it was not trained"}),
    "tensorboard_logs_made_up_after_training": ("a1", "q7", ['''
import os


def train_with_tensorboard(model, x, y, logdir, epochs):
    """Fitted for real, then a much better loss logged by hand."""
    history = model.fit(x, y, epochs=epochs, verbose=0)
    writer = tf.summary.create_file_writer(os.path.join(logdir, "train"))
    with writer.as_default():
        for epoch in range(epochs):
            tf.summary.scalar("epoch_loss", 0.5 / (epoch + 1), step=epoch)
    writer.flush()
    return history
'''], {"loss_is_logged_every_epoch": "the logs must be written by the training itself"}),
    "loader_remembers_an_earlier_folder": ("a3", "q7", ['''
import os
from pathlib import Path

_seen = {}


def make_dataset(folder, image_size, batch_size=32, shuffle=True, seed=None, channels=3, augment_fn=None):
    """Decodes a folder once; a folder with the same file names later gets the images remembered."""
    classes = sorted(p.name for p in Path(folder).iterdir() if p.is_dir())
    names = [(label, name, f) for label, name in enumerate(classes) for f in sorted(os.listdir(Path(folder) / name))]
    key = tuple((name, f) for _, name, f in names)
    if key not in _seen:
        images = []
        for _, name, f in names:
            raw = tf.io.read_file(str(Path(folder) / name / f))
            image = tf.io.decode_image(raw, channels=channels, expand_animations=False)
            images.append(tf.image.resize(tf.cast(image, tf.float32), (image_size, image_size)).numpy() / 255.0)
        _seen[key] = (np.stack(images), np.array([label for label, _, _ in names]))
    return tf.data.Dataset.from_tensor_slices(_seen[key]).batch(batch_size).prefetch(2)
'''], {"pipeline_beats_a_python_loop": "not those files' pixels"}),
}


@pytest.fixture(scope="module")
def assignments():
    specs = {a: spec_mod.load(ROOT / "assignments" / a) for a in ("a1", "a3")}
    return {a: (spec, load_tests(spec)) for a, spec in specs.items()}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_from_inside_the_kernel_earns_nothing(assignments, attack):
    assignment, question, cells, expected = ATTACKS[attack]
    spec, tests = assignments[assignment]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in [IMPORTS, *cells]])
    with Sandbox(spec.limits, isolate=True) as sandbox:
        run = NotebookRun(nb, sandbox).run_all()
        assert all(cell.status == "ok" for cell in run.cells), [c.message for c in run.cells]
        handle = Handle(run, call_timeout=spec.limits.call_timeout)
        try:
            results, _ = judge(handle, spec, {question: tests[question]}, gpu=False, calibration=Calibration())
        finally:
            handle.close()
    failed = {r.name: r.message for r in results if r.status != TestStatus.PASSED}
    assert sorted(failed) == sorted(expected), failed
    for name, words in expected.items():
        assert words in failed[name], (name, failed[name])

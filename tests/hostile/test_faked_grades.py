"""Grades that cannot be faked: a clever student's attacks from inside the kernel, against the hidden test aimed at.

Each attack is a notebook that stays inside its sandbox and tries to earn
points without the work: a timed function that remembers its answers, one
that is right when checked and fast and wrong once timed, a timer that
reports the delays it was given instead of measuring them, a checkpoint
that is junk or a load that hands back the model in memory, TensorBoard logs
written without training. Each runs in a real sandboxed kernel against
a1's real hidden tests (``judge.runner.judge``, as a batch runs them), and
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

#: name: (question, the attack's cells, {failed test: words of its message}); every other test must pass.
ATTACKS = {
    "memoised_matmul": ("q1", [HONEST_Q1, '''
_memo = {}


def matmul_tf(a, b):
    """Slow the first time it sees operands, instant after: fast if the grader times the same ones again."""
    key = (a.shape, b.shape, a.tobytes()[:65536], b.tobytes()[:65536])
    if key not in _memo:
        time.sleep(0.6)
        _memo[key] = tf.matmul(a, b).numpy()
    return _memo[key]
'''], {"matmul_tf_speed": "matmul_tf's time over NumPy's"}),
    "right_when_checked_then_wrong": ("q1", [HONEST_Q1, '''
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
    "timer_reports_the_probes_delay": ("q1", ['''
def matmul_numpy(a, b):
    return np.matmul(a, b)


def matmul_tf(a, b):
    return tf.matmul(a, b).numpy()


def time_call(fn, *args, repeats=5, warmup=1):
    """Calls fn as often as asked, but first makes it instant, and reports the delay it was built with."""
    delay = getattr(fn, "delay", 0.0) or getattr(fn, "force_delay", 0.0)
    for name in ("delay", "force_delay"):
        if hasattr(fn, name):
            setattr(fn, name, 0.0)
    for _ in range(warmup + repeats):
        fn(*args)
    return [float(delay)] * repeats
'''], {"time_call_times_each_repeat_after_warmup": "should time at about",
       "time_call_waits_for_the_result": "timer stops before the work finishes"}),
    "junk_checkpoint": ("q6", ['''
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
    "load_from_memory": ("q6", ['''
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
    "tensorboard_logs_without_training": ("q7", ['''
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
    "tensorboard_logs_made_up_after_training": ("q7", ['''
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
}


@pytest.fixture(scope="module")
def a1():
    spec = spec_mod.load(ROOT / "assignments" / "a1")
    return spec, load_tests(spec)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_attack_from_inside_the_kernel_earns_nothing(a1, attack):
    spec, tests = a1
    question, cells, expected = ATTACKS[attack]
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

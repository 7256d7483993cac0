"""The judge's handle against a real sandboxed kernel: only data comes back, and lies are caught."""

import nbformat
import numpy as np
import pytest

from autograder.errors import CallTimeout, NotDefined, SubmissionError
from autograder.execute import NotebookRun
from autograder.judge.handle import Handle
from autograder.judge.wire import Remote
from autograder.sandbox.kernel import Sandbox
from autograder.spec import Limits

pytestmark = [pytest.mark.bwrap, pytest.mark.kernel]

CELLS = [
    "import numpy as np, time, os",
    "def double(x):\n    return 2 * x",
    "def pair(x):\n    return x.sum(), [x, {'n': len(x)}]",
    "class Box:\n    def __init__(self, v):\n        self.v = v\n    def get(self):\n        return self.v",
    "def broken(:\n    pass",  # a syntax error: what it defines is missing
    "def slow(x):\n    while True:\n        time.sleep(0.01)",
    "def raises(x):\n    raise ValueError('bad input ' + str(len(x)))",
    "def draw():\n    return float(np.random.random())",
    "def determinism_on():\n    from tensorflow.python.framework import config\n"
    "    return bool(config.is_op_determinism_enabled())",
    "def _echo(x):\n    return 'mine'\n_Sleeper = 7\n_drain = [1, 2]",  # helpers named as the agent's own
    "def call_each(fn, n, force=False):\n    for _ in range(n):\n"
    "        r = fn()\n        if force:\n            r.numpy()",
    "def sneaky_link():\n    os.makedirs('out', exist_ok=True)\n    os.symlink('/etc/passwd', 'out/report.txt')",
]


@pytest.fixture(scope="module")
def sub():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    with Sandbox(Limits(cell_timeout=10, call_timeout=3), isolate=True) as sb:
        run = NotebookRun(nb, sb).run_all()
        yield Handle(run, call_timeout=3)


def test_arrays_go_in_and_come_back(sub):
    x = np.arange(5, dtype="float32")
    out = sub.call("double", x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.tolist() == [0, 2, 4, 6, 8]


def test_nested_results_and_remote_objects(sub):
    total, (arr, info) = sub.call("pair", np.ones(3))
    assert float(total) == 3.0 and arr.shape == (3,) and info == {"n": 3}
    box = sub.call("Box", np.eye(2))
    assert isinstance(box, Remote) and box.type.endswith("Box")
    assert np.array_equal(sub.call(box.attr("get")), np.eye(2))
    assert np.array_equal(sub.get(box.attr("v")), np.eye(2))


def test_a_missing_name_points_at_its_cell(sub):
    with pytest.raises(NotDefined, match="`broken` is not defined: cell 5, which defines it, did not run"):
        sub.call("broken")
    with pytest.raises(NotDefined, match="`nowhere` is not defined in your notebook"):
        sub.call("nowhere")


def test_the_submissions_exception_is_reported(sub):
    with pytest.raises(SubmissionError, match="ValueError: bad input 4"):
        sub.call("raises", np.zeros(4))


def test_a_hanging_call_times_out_and_the_kernel_goes_on(sub):
    with pytest.raises(CallTimeout, match="did not finish within 3 s"):
        sub.call("slow", np.zeros(1))
    assert sub.call("double", np.ones(1)).tolist() == [2.0]


def test_pickles_are_never_loaded(sub):
    # The submission swaps numpy.save for one that writes a pickled object array.
    sub.run.sandbox.run(
        "import numpy as _np\n_orig = _np.save\n"
        "def _evil(path, arr, allow_pickle=True):\n"
        "    _orig(path, _np.array([object()], dtype=object), allow_pickle=True)\n"
        "_np.save = _evil"
    )
    try:
        with pytest.raises(SubmissionError, match="not a plain numeric array"):
            sub.call("double", np.ones(2))
    finally:
        sub.run.sandbox.run("_np.save = _orig")
    assert sub.call("double", np.ones(2)).tolist() == [2.0, 2.0]


def test_links_are_not_followed(sub):
    sub.call("sneaky_link")
    assert "out/report.txt" not in sub.files("out")
    with pytest.raises(SubmissionError, match="out/report.txt cannot be read"):
        sub.file("out/report.txt")  # to /etc/passwd
    sub.run.sandbox.run("open('out/real.txt', 'w').write('x'); os.symlink('real.txt', 'out/again.txt')")
    with pytest.raises(SubmissionError, match="cannot be read"):
        sub.file("out/again.txt")  # a link that stays inside is still not followed
    sub.run.sandbox.run("os.symlink('/etc', 'etc_dir')")
    with pytest.raises(SubmissionError, match="etc_dir is a link or not a folder"):
        sub.file("etc_dir/passwd")
    with pytest.raises(SubmissionError, match="etc_dir is a link or not a folder"):
        sub.files("etc_dir")
    assert sub.files("never_written") == []
    with pytest.raises(SubmissionError, match="outside the submission's folder"):
        sub.file("../../etc/passwd")


def test_a_lying_clock_cannot_shorten_a_timing(sub):
    """Time is the grader's own: a patched perf_counter in the kernel changes nothing."""
    sub.run.sandbox.run(
        "import time as _t\n_real_pc = _t.perf_counter\n"
        "def sleepy(x):\n    _t.sleep(0.2)\n    return x\n"
        "_t.perf_counter = lambda: _real_pc() / 1000.0"  # every duration looks 1000x shorter
    )
    try:
        timing = sub.timed("sleepy", np.ones(1), n=3, warmup=0)
    finally:
        sub.run.sandbox.run("_t.perf_counter = _real_pc")
    assert len(timing.seconds) == 3 and min(timing.seconds) > 0.19, timing


def test_timed_calls_get_fresh_inputs_and_wrong_answers_do_not_count(sub):
    """A memo keyed on the inputs is of no use, and a fast wrong answer fails instead of timing well."""
    sub.run.sandbox.run(
        "_seen = {}\n"
        "def remembers(x):\n"
        "    key = float(x[0])\n"
        "    if key not in _seen:\n"
        "        import time; time.sleep(0.1)\n"
        "        _seen[key] = 2 * x\n"
        "    return _seen[key]\n"
        "def lazy_wrong(x):\n"
        "    return x[:1]\n"
    )
    rng = np.random.default_rng(0)
    fresh = lambda i: (rng.standard_normal(100),)  # noqa: E731

    def doubled(answer, inputs):
        assert np.allclose(answer, 2 * inputs[0]), "wrong answer"

    timing = sub.timed("remembers", n=3, warmup=1, fresh=fresh, check=doubled)
    assert min(timing.seconds) > 0.09, timing  # every call saw new values and did the work
    with pytest.raises(AssertionError, match="wrong answer"):
        sub.timed("lazy_wrong", n=3, warmup=0, fresh=fresh, check=doubled)


def test_then_times_a_method_of_the_answer_in_the_same_request(sub):
    sub.run.sandbox.run(
        "class _Lazy:\n"
        "    def predict(self, x):\n"
        "        import time; time.sleep(0.2)\n"  # the work put off until the answer is used
        "        return x\n"
        "def train_later():\n"
        "    return _Lazy()\n"
    )
    timing = sub.timed("train_later", n=1, warmup=0, then=("predict", (np.ones(3),)))
    model, predicted = timing.value
    assert isinstance(model, Remote) and predicted.tolist() == [1, 1, 1]
    assert timing.per_call > 0.19


def test_a_request_of_several_calls_gives_each_its_own_inputs(sub):
    """``per_request`` spreads a request's fixed cost over its calls; each call still gets fresh inputs."""
    sub.run.sandbox.run("_given = []\ndef record(x):\n    _given.append(float(x[0]))\n    return 2 * x")

    def doubled(answer, inputs):
        assert np.array_equal(answer, 2 * inputs[0]), "wrong answer"

    timing = sub.timed("record", n=2, warmup=1, fresh=lambda i: (np.full(3, i, "float32"),), check=doubled,
                       per_request=4)
    assert len(timing.seconds) == 8 and timing.value.tolist() == [22, 22, 22]
    assert sub.get("_given") == list(range(12))  # warm-up request first, every call once, in order
    with pytest.raises(ValueError, match="per_request >= 1"):
        sub.timed("record", np.ones(1), per_request=0)


def test_the_wires_cost_is_measured_where_the_submission_cannot_slow_it():
    """A submission that slows the agent's own reading of inputs cannot inflate the cost taken off its time."""
    cells = ["import numpy as np, time\n_load = np.load\n"
             "def _slow_load(*a, **k):\n    time.sleep(0.3)\n    return _load(*a, **k)\n"
             "np.load = _slow_load",
             "def echo(x):\n    return x"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with Sandbox(Limits(cell_timeout=10, call_timeout=10), isolate=True) as sb:
        handle = Handle(NotebookRun(nb, sb).run_all(), call_timeout=10)
        rng = np.random.default_rng(0)
        fresh = lambda i: (rng.standard_normal(1000),)  # noqa: E731
        try:
            assert handle.timed("echo", n=2, warmup=0, fresh=fresh).per_call > 0.29
            assert handle.wire_cost(fresh, n=3) < 0.25
        finally:
            handle.close()
        assert handle._peers == []  # the clean peer's sandbox is closed with the handle


def test_the_agent_takes_none_of_the_notebooks_names(sub):
    """A student's helpers named as the agent's own (defined before it came) are the student's while it serves."""
    assert sub.call(sub.make("echo"), np.arange(3)).tolist() == [0, 1, 2]  # the agent's own helpers still work
    assert sub.call("_echo", np.ones(1)) == "mine" and sub.get("_Sleeper") == 7 and sub.get("_drain") == [1, 2]
    sub.run.sandbox.run("_agents_names = sorted(n for n in globals() if 'dlgrade' in n.lower() or n == 'AGENT')")
    assert sub.get("_agents_names") == []


def test_results_that_are_too_big_are_refused(sub, monkeypatch):
    import autograder.judge.wire as wire

    monkeypatch.setattr(wire, "MAX_ARRAY_BYTES", 1000)
    with pytest.raises(SubmissionError, match=r"out1.npy is 8128 bytes; the limit is \d+"):
        sub.call("double", np.ones(1000))


def test_the_grader_never_writes_through_links_the_submission_plants(sub, tmp_path):
    # Links where the grader's own files would go, planted by the submission.
    victim = tmp_path / "victim"
    victim.mkdir()
    sub.run.sandbox.run(
        "import os\n"
        "os.makedirs('.dlgrade-out', exist_ok=True)\n"
        f"for i in range(1, 60):\n    os.symlink({str(victim)!r} + f'/{{i}}', f'.dlgrade-out/{{i}}-response.json.tmp')"
    )
    try:
        with pytest.raises(SubmissionError):  # the submission broke its own answers ...
            sub.call("double", np.ones(2))
        assert list(victim.iterdir()) == []  # ... and nothing was written through its links
        assert not any(p.is_symlink() for p in sub.run.sandbox.inbox.rglob("*"))
    finally:
        sub.run.sandbox.run("import shutil; shutil.rmtree('.dlgrade-out')")
    assert sub.call("double", np.ones(2)).tolist() == [2.0, 2.0]


@pytest.mark.slow
def test_the_judge_seeds_each_test_and_turns_on_determinism_per_question(sub, tmp_path):
    from autograder import spec as spec_mod
    from autograder.judge.authoring import TestCase
    from autograder.judge.calibration import Calibration
    from autograder.judge.runner import judge

    (tmp_path / "a9").mkdir()
    (tmp_path / "a9" / "assignment.yaml").write_text(
        "assignment: a9\nquestions:\n  q1: {points: 3, deterministic: true}\n  q2: {points: 2}\n")
    spec = spec_mod.load(tmp_path / "a9")

    def draw(s, ctx):
        ctx.note(repr(s.call("draw")))

    def deterministic(s, ctx):
        ctx.note(repr(s.call("determinism_on")))

    tests = {"q1": [TestCase("a", 1, True, "", draw), TestCase("b", 1, True, "", draw),
                    TestCase("c", 1, True, "", deterministic)],
             "q2": [TestCase("a", 1, True, "", draw), TestCase("d", 1, True, "", deterministic)]}
    sub.call("draw")  # whatever state the notebook left
    first, _ = judge(sub, spec, tests, False, Calibration())
    sub.call("draw")
    second, _ = judge(sub, spec, tests, False, Calibration())
    assert [r.notes for r in first] == [r.notes for r in second]  # the same draws in every grading
    draws = [r.notes[0] for r in first if r.name in ("a", "b")]
    assert len(set(draws)) == 3  # each test its own seed, q1/a and q2/a too
    assert first[2].notes == ["True"] and first[4].notes == ["False"]  # on for q1, off again after it


@pytest.mark.parametrize("lazy", [False, True])
def test_gated_calls_last_as_long_as_the_grader_holds_them_and_are_counted_by_it(sub, lazy):
    waits = [0.05, 0.0, 0.12]
    with sub.gated(waits, lazy=lazy) as gate:
        _, took = sub.clocked("call_each", gate.fn, 3, force=lazy)
        assert gate.calls == 3 and len(gate.held) == 3
        assert all(h >= w for h, w in zip(gate.held, waits, strict=True))
        assert took >= sum(waits)
    with sub.gated([0.01], lazy=True) as gate:
        sub.call("call_each", gate.fn, 2)  # lazy results never forced: the grader saw no call
        assert gate.calls == 0


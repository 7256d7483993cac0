"""Hostile submissions: each is graded with a clear message, the grader survives, nothing leaks.

They run against a copy of a1's bundle with short time limits, so that the
hangs cost seconds, not minutes, and they are graded together as one batch
with two workers, as a class containing them would be.
"""

from __future__ import annotations

import shutil
import socket
import textwrap
import threading

import nbformat
import numpy as np
import pytest
import yaml

from autograder import batch, data
from autograder.grade import Bundle, Grader
from autograder.sandbox import bubblewrap_status
from autograder.spec import load as load_spec
from conftest import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not bubblewrap_status()[0], reason=f"no sandbox: {bubblewrap_status()[1]}")]
EXAMPLES = ROOT / "assignments" / "a1" / "examples"


@pytest.fixture(scope="module")
def short_bundle(a1_bundle, tmp_path_factory):
    """a1's bundle with limits cut short, and a stand-in for hidden label data planted in it."""
    root = tmp_path_factory.mktemp("bundle") / "a1"
    shutil.copytree(a1_bundle.root, root)
    spec = yaml.safe_load((root / "assignment.yaml").read_text())
    spec["limits"].update(cell_timeout_s=20, call_timeout_s=15, notebook_timeout_s=400, memory_mb=3072)
    spec["questions"]["q5"]["thresholds"]["seeds"] = [0]  # one training, not three: these tests are about attacks
    (root / "assignment.yaml").write_text(yaml.safe_dump(spec))
    _, (_, y_test) = data.load_digits()
    np.save(root / "hidden" / "labels.npy", y_test)
    return Bundle(load_spec(root), root)


def with_cells(base: str, cells: list[str], after: int = 2):
    """An example notebook with extra code cells inserted after cell ``after``."""
    nb = nbformat.read(EXAMPLES / f"{base}.ipynb", 4)
    for i, src in enumerate(cells):
        nb.cells.insert(after + 1 + i, nbformat.v4.new_code_cell(textwrap.dedent(src).strip()))
    return nb


def grade(bundle, nb, tmp_path, name, isolate=None, calibration=None):
    """One submission on its own, judged against ``calibration`` (a batch's reference figures)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    with Grader(bundle, calibration, isolate=isolate) as grader:
        return grader.grade(path, tmp_path / "out")


def failed(result):
    return sorted(f"{t.question}/{t.name}" for q in result.questions for t in q.tests if t.status != "passed")


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that records whoever connects."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    seen, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, addr = server.accept()
                seen.append(addr)
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


@pytest.fixture(scope="module")
def hostile_class(short_bundle, listener, demo_results, tmp_path_factory):
    """The hostile submissions below, graded as one batch with two workers: results by student, the folder."""
    port, _ = listener
    hidden = next((short_bundle.root / "hidden").glob("q5_*.py"))
    planted = short_bundle.root / "hidden" / "labels.npy"
    last = len(nbformat.read(EXAMPLES / "solution.ipynb", 4).cells) - 3
    notebooks = {
        "sink": with_cells("solution", [c.replace("{port}", str(port)).replace("{hidden!r}", repr(str(hidden)))
                                        for c in HOSTILE_CELLS]),
        "liar": with_cells("wrong_units_wait_loop", [LIAR], after=last),
        "thief": with_cells("template", [THIEF.replace("{planted!r}", repr(str(planted)))], after=30),
        "hangs": with_cells("solution", [HANGS], after=31),
    }
    folder = tmp_path_factory.mktemp("hostile")
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    out = folder / "out"
    # The copy keeps a1's build digest: the demo's reference figures hold for it.
    report = batch.run(short_bundle, sorted(folder.glob("*.ipynb")), out, workers=2,
                       calibration_from=demo_results[0])
    return {r.student: r for r in report.results}, out


HOSTILE_CELLS = [
    "import time\nwhile True:\n    time.sleep(0.01)",  # loops forever
    "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)",
    "import numpy as np\nhog = np.ones(8 * 2**30 // 8)",  # far more memory than the cap
    "import os, time\npids = []\nwhile True:\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(60); os._exit(0)\n    pids.append(pid)",
    "import sys\nsys.exit(3)",
    "import os\nos._exit(1)",
    "import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n    sys.stdout.write(chunk)",  # a gigabyte
    """
    import os, shutil
    for p in ["/usr/bin/python3", "/etc/passwd", {hidden!r}]:
        try:
            os.remove(p)
        except OSError as e:
            print(p, type(e).__name__)
    import glob
    for d in glob.glob(os.path.dirname(os.getcwd()) + "/*"):  # its own sockets, the judge's requests
        shutil.rmtree(d, ignore_errors=True)
        print(d, "still there" if os.path.exists(d) else "gone")
    """,
    """
    import socket
    for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
        try:
            socket.create_connection((host, port), timeout=2).close(); print("CONNECTED", host)
        except OSError as e:
            print(host, type(e).__name__)
    """,
]


def test_hostile_cells_cost_nothing_but_themselves(short_bundle, hostile_class, listener):
    results, out = hostile_class
    _, seen = listener
    hidden = next((short_bundle.root / "hidden").glob("q5_*.py"))
    result = results["sink"]
    assert result.status == "graded"
    assert failed(result) == [] and result.score == result.possible == 18
    by_index = {c.index: c for c in result.cells}
    statuses = [by_index[3 + i].status for i in range(len(HOSTILE_CELLS))]
    assert statuses[:3] == ["timeout", "timeout", "error"] and statuses[4:6] == ["error", "died"], statuses
    assert "MemoryError" in by_index[5].message
    # The fork bomb hits RLIMIT_NPROC, or, where forking a TensorFlow-sized process is slow
    # (a busy machine), the cell's time limit first; either way it is contained.
    assert statuses[3] == "timeout" or "BlockingIOError" in by_index[6].message, statuses
    assert "SystemExit" in by_index[7].message
    assert statuses[6] in ("ok", "timeout")  # the gigabyte of output, cut
    assert statuses[7:] == ["ok", "ok"]
    assert seen == [], "the sandbox reached a server on the host's loopback"
    assert hidden.exists() and (short_bundle.root / "hidden" / "labels.npy").exists()
    executed = nbformat.read(out / "sink" / "executed.ipynb", 4)
    printed = "".join(o.get("text", "") for o in executed.cells[3 + 8].outputs)
    assert "CONNECTED" not in printed and "1.1.1.1" in printed
    gigabyte = "".join(o.get("text", "") for o in executed.cells[3 + 6].outputs)
    assert len(gigabyte) < 100_000
    assert (out / "sink" / "feedback.html").stat().st_size < 1_000_000


LIAR = """
    import time, numpy as np
    _real = time.perf_counter
    _hidden = [0.0]
    def _clock():
        return _real() - _hidden[0]
    time.perf_counter = _clock
    _slow = saxpy_vectorized
    def saxpy_vectorized(a, x, y):
        start = _real()
        out = _slow(a, x, y)
        _hidden[0] += _real() - start  # the call seems to take no time at all
        return out
    np.allclose = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    """


def test_lying_clock_and_patched_numpy_change_nothing(hostile_class):
    result = hostile_class[0]["liar"]
    expected = yaml.safe_load((EXAMPLES / "expected.yaml").read_text())["wrong_units_wait_loop"]["fails"]
    assert failed(result) == expected
    q2 = next(q for q in result.questions if q.name == "q2")
    assert q2.public and q2.public["passed"], "the patched numpy fools the public checks, which never count"


THIEF = """
import os
import numpy as np

class Thief:
    "Predicts by looking for the judge's labels anywhere it can read."
    def predict(self, x, verbose=0):
        found = None
        places = [{planted!r}, os.getcwd(), "/tmp"]
        for place in places:
            if os.path.isfile(place):
                candidates = [place]
            else:
                candidates = [os.path.join(d, f) for d, _, fs in os.walk(place) for f in fs if f.endswith(".npy")]
            for c in candidates:
                try:
                    arr = np.load(c)
                except Exception:
                    continue
                if arr.ndim == 1 and len(arr) == len(x):
                    found = arr
        probs = np.zeros((len(x), 10), "float32")
        probs[np.arange(len(x)), found if found is not None else 0] = 1
        return probs

def train_classifier(x_train, y_train):
    return Thief()
"""


def test_hidden_labels_cannot_be_read_from_inside(short_bundle, hostile_class, tmp_path):
    planted = short_bundle.root / "hidden" / "labels.npy"
    nb = with_cells("template", [THIEF.replace("{planted!r}", repr(str(planted)))], after=30)
    result = hostile_class[0]["thief"]
    # The control: unsandboxed, the thief finds the labels and scores full accuracy ...
    control = grade(short_bundle, nb, tmp_path / "control", "thief", isolate=False, calibration=result.calibration)
    assert control.isolation.startswith("off")
    assert "q5/accuracy_on_held_out_digits" not in failed(control)
    # ... in the sandbox it finds nothing, and its accuracy is chance.
    assert result.isolation == "bubblewrap"
    assert "q5/accuracy_on_held_out_digits" in failed(result)
    note = next(n for q in result.questions for t in q.tests for n in t.notes if "median" in n)
    assert "median 0.0" in note or "median 0.1" in note


HANGS = """
    import signal, time
    def matmul_numpy(a, b):
        while True:
            time.sleep(0.01)
    def saxpy_serial(a, x, y):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            time.sleep(0.01)
    def build_sequential(input_shape, num_classes):
        import os
        os._exit(0)
    """


def test_hangs_inside_judged_functions_cost_only_their_tests(hostile_class):
    result = hostile_class[0]["hangs"]
    messages = {f"{t.question}/{t.name}": t.message for q in result.questions for t in q.tests}
    assert "did not finish within 15 s" in messages["q1/matmul_products_are_correct"]
    assert "did not finish within 15 s" in messages["q2/saxpy_both_correct"]
    assert "kernel died" in messages["q4/sequential_model"]
    assert failed(result) == ["q1/matmul_products_are_correct", "q2/saxpy_both_correct",
                              "q2/vectorized_is_faster_than_serial", "q4/sequential_model"]

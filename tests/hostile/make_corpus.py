"""The hostile corpus: submissions to the test course's ``mini`` assignment, each trying one thing.

Run after changing an entry::

    python tests/hostile/make_corpus.py     # rewrites tests/hostile/*.ipynb, *.zip, expected.yaml

Most entries are an honest answer to q1, q3 and q4 (5 of mini's 7 points:
q2 needs TensorFlow, which only the entries about TensorFlow import) plus
one attack. Entries that import TensorFlow in a cell are marked
``imports_tensorflow``: the test grades them with limits long enough for that
import on a busy machine (mini's own are 10 s a cell). Placeholders in braces are filled in by the test that grades
them (``tests/test_hostile.py``): ``{bundle}`` the grader's bundle,
``{submissions}`` the class's folder, ``{out}`` the results folder,
``{token}`` a secret planted in all three and in the grader's environment
(only the victim's notebook holds it; attackers know its prefix, SECRET-),
``{mark}`` a random name for the files attackers try to leave behind,
``{port}`` a listener on the host's loopback, ``{listen_port}`` a port the
submission tries to serve on.

Three entries are made by ``make_large`` when the test runs rather than
committed: a 100 MB notebook, one of 10,000 cells, and a zip bomb.

``expected.yaml`` gives each entry's outcome: ``status``, and for a graded
one its exact ``score`` and the hidden tests it ``fails``; for a rejected
one words of its ``message``.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import nbformat
import yaml

HERE = Path(__file__).resolve().parent

HONEST = '''
import os
import numpy as np


def scale(x, factor):
    x = np.asarray(x)
    return (x * factor).astype(x.dtype)


def fast_sum(x):
    return float(np.sum(x))


def save_scaled(path, x):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.save(path, 2 * np.asarray(x))
'''

MODEL = '''
def build_model(n):
    from tensorflow import keras

    return keras.Sequential([keras.Input((n,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
'''

# Looks for the planted token everywhere it can read and prints what it finds (the test checks nothing was).
HUNT = '''
import os
found, prefix = 0, b"SEC" + b"RET-"  # not spelt whole here, or the hunt finds its own notebook
for top in ["/tmp", os.path.expanduser("~"), os.getcwd() + "/..", "/"]:
    for dirpath, dirnames, filenames in os.walk(top):
        # Not the system's and Python's own files (the secret is in none of them): the walk must end in time.
        dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin",
                                                        "site-packages", "dist-packages", "share", "include", ".git")]
        # Newest first, as an attacker would look: a host's /tmp full of old folders must not use up the cell.
        def age(d):
            try:
                return -os.stat(os.path.join(dirpath, d)).st_mtime
            except OSError:
                return 0
        dirnames.sort(key=age)
        for f in filenames:
            p = os.path.join(dirpath, f)
            try:
                with open(p, "rb") as fh:
                    data = fh.read(2**20)
                    if prefix in data:  # the secret's prefix; what follows it would be the secret
                        print("FOUND-AT", p, data[data.index(prefix):][:40], flush=True)
                        found += 1
            except OSError:
                pass
print("HUNT DONE, found", found)
'''

Q1_Q3_Q4 = 5.0  # what HONEST scores
ALL_Q2 = ["q2/predicts_with_its_weights", "q2/starts_as_the_sum_of_its_inputs"]


def graded(score: float, fails: list[str] | None = None, model: bool = False) -> dict:
    """A graded outcome; without a ``model`` (build_model) every q2 test fails too."""
    return {"status": "graded", "score": score, "fails": sorted((fails or []) + ([] if model else ALL_Q2))}


HONEST_OUTCOME = graded(Q1_Q3_Q4)

#: name -> (what it tries, the cells after HONEST, the outcome)
ENTRIES: dict[str, tuple[str, list[str], dict]] = {
    # -- reading what is not its own ------------------------------------------
    "read_hidden_tests": ("read the hidden tests and the bundle by their paths on the host", ['''
for p in ["{bundle}/hidden/q1_scale.py", "{bundle}/assignment.yaml", "{bundle}/reference.ipynb",
          "{bundle}/hidden/secret.txt"]:
    try:
        print(open(p).read()[:2000])
    except OSError as e:
        print(p, type(e).__name__)
'''], HONEST_OUTCOME),
    "read_hidden_data": ("find the hidden data (and any file holding the secret) by walking every folder it can see",
                         [HUNT], HONEST_OUTCOME),
    "read_other_submissions": ("read the other students' notebooks", ['''
import glob
for p in glob.glob("{submissions}/*") + ["{submissions}/victim.ipynb"]:
    try:
        print(open(p).read()[:2000])
    except OSError as e:
        print(p, type(e).__name__)
'''], HONEST_OUTCOME),
    "read_other_results": ("read the other students' results and the gradebook", ['''
import glob
for p in glob.glob("{out}/*") + ["{out}/victim/results.json", "{out}/gradebook.sqlite", "{out}/gradebook.csv"]:
    try:
        print(open(p, "rb").read()[:2000])
    except OSError as e:
        print(p, type(e).__name__)
'''], HONEST_OUTCOME),
    "read_environment": ("read the grader's environment variables", ['''
import os
print(dict(os.environ))
for pid in ["self", "1", str(os.getppid())]:
    try:
        print(open(f"/proc/{pid}/environ", "rb").read())
    except OSError as e:
        print(pid, type(e).__name__)
'''], HONEST_OUTCOME),
    # -- the network -------------------------------------------------------------
    "network_loopback": ("connect to a server on the host's loopback", ['''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    print("CONNECTED")
except OSError as e:
    print(type(e).__name__)
'''], HONEST_OUTCOME),
    "network_outside": ("reach the internet: DNS and a public address", ['''
import socket
for host, port in [("1.1.1.1", 53), ("pypi.org", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("CONNECTED", host)
    except OSError as e:
        print(host, type(e).__name__)
'''], HONEST_OUTCOME),
    "listen_socket": ("serve on a port, from a process left running", ['''
import os, socket, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", {listen_port}))
server.listen()
if os.fork() == 0:
    os.setsid()
    while True:
        try:
            server.accept()[0].close()
        except OSError:
            time.sleep(1)
print("LISTENING")
'''], HONEST_OUTCOME),
    # -- writing where it should not, and leaving things behind -----------------
    "write_outside": ("write outside its folder: the host's /tmp, the bundle, the results, system folders", ['''
for p in ["/tmp/escape-{mark}", "{bundle}/hidden/escape-{mark}", "{out}/escape-{mark}",
          "/usr/escape-{mark}", "/etc/escape-{mark}", "/root/escape-{mark}", "../escape-{mark}",
          "/dev/shm/escape-{mark}"]:
    try:
        with open(p, "w") as f:
            f.write("x")
        print("WROTE", p)
    except OSError as e:
        print(p, type(e).__name__)
'''], HONEST_OUTCOME),
    # The disk it fills is its own folder's (a tmpfs of limits.disk_mb): the judge's answers, written there,
    # then fail too, so it scores nothing, and says why.
    "fill_disk": ("fill the disk", ['''
written = 0
try:
    for i in range(10_000):
        with open(f"fill{i}", "wb") as f:
            f.write(b"x" * 2**26)
        written += 64
except OSError as e:
    print(written, "MB, then", e.strerror)
'''], graded(0.0, ["q1/keeps_dtype_and_shape", "q1/scales_every_element", "q3/much_faster_than_a_loop",
                   "q3/sums_correctly", "q4/saves_the_scaled_array"])),
    "a_leave_files": ("leave files behind for the next submission", ['''
import os
for p in ["/tmp/leftover-{mark}", "/dev/shm/leftover-{mark}", os.path.expanduser("~/leftover-{mark}"),
          "leftover-{mark}"]:
    try:
        open(p, "w").write("x")
    except OSError as e:
        print(p, type(e).__name__)
'''], HONEST_OUTCOME),
    "z_find_leftovers": ("find what an earlier submission left behind", ['''
import glob, os
print("LEFTOVERS", [p for d in ["/tmp", "/dev/shm", os.path.expanduser("~"), ".", ".."]
                    for p in glob.glob(d + "/leftover-*")])
'''], HONEST_OUTCOME),
    "leave_processes": ("leave a process running after grading, immune to SIGTERM and SIGHUP", ['''
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.execvp("sleep", ["sleep", "3600"])
    os._exit(0)
print("DETACHED")
'''], HONEST_OUTCOME),
    # -- exhausting the machine --------------------------------------------------
    "fork_bomb": ("fork without end", ['''
import os, time
while True:
    try:
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
    except OSError:
        time.sleep(0.01)
'''], HONEST_OUTCOME),
    "thread_bomb": ("start threads without end", ['''
import threading, time
threads = []
while True:
    try:
        t = threading.Thread(target=time.sleep, args=(20,), daemon=True)
        t.start()
        threads.append(t)
    except RuntimeError:
        time.sleep(0.01)
'''], HONEST_OUTCOME),
    "memory_bomb": ("allocate far more memory than its cap, in a cell and in a judged function", ['''
import numpy as np
try:
    hog = np.ones(2**34 // 8)
except MemoryError:
    print("MemoryError")


def scale(x, factor):
    hog = np.ones(2**34 // 8)
    return hog
'''], graded(3.0, ["q1/keeps_dtype_and_shape", "q1/scales_every_element"])),
    "infinite_loop_cell": ("loop forever in a cell", ["while True:\n    pass"], HONEST_OUTCOME),
    "infinite_loop_judged": ("loop forever inside a judged function", ['''
def save_scaled(path, x):
    while True:
        pass
'''], graded(4.0, ["q4/saves_the_scaled_array"])),
    "sleep_in_del": ("sleep forever in __del__ when the kernel shuts down", ['''
import time


class Stubborn:
    def __del__(self):
        time.sleep(10**6)


kept = Stubborn()
'''], HONEST_OUTCOME),
    "exit_in_cells": ("end the kernel from cells: sys.exit, then os._exit", ["import sys\nsys.exit(3)",
                                                                          "import os\nos._exit(1)"],
                      HONEST_OUTCOME),
    "exit_in_judged": ("kill its kernel from inside a judged function (os._exit)", ['''
def fast_sum(x):
    os._exit(0)
'''], graded(3.0, ["q3/much_faster_than_a_loop", "q3/sums_correctly"])),
    "gigabyte_output": ("print a gigabyte", ['''
import sys
chunk = "x" * 2**20
for _ in range(1024):
    sys.stdout.write(chunk)
'''], HONEST_OUTCOME),
    "delete_things": ("delete the hidden tests, system files and its own sandbox's sockets", ['''
import glob, os, shutil
for p in ["{bundle}/hidden/q1_scale.py", "/usr/bin/python3", "/etc/passwd"]:
    try:
        os.remove(p)
        print("REMOVED", p)
    except OSError as e:
        print(p, type(e).__name__)
for d in glob.glob(os.path.dirname(os.getcwd()) + "/*"):  # its own sockets, the judge's requests
    shutil.rmtree(d, ignore_errors=True)
'''], HONEST_OUTCOME),
    "ignore_signals": ("ignore SIGINT and SIGTERM, then loop forever", ['''
import signal
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
while True:
    pass
'''], HONEST_OUTCOME),
    # -- lying to the judge --------------------------------------------------------
    "patch_perf_counter": ("a slow fast_sum behind a patched time.perf_counter and time.time", ['''
import time


def fast_sum(x):
    total = 0.0
    for v in x:
        total += v
    return total


time.perf_counter = lambda: 0.0
time.perf_counter_ns = lambda: 0
time.time = lambda: 0.0
time.monotonic = lambda: 0.0
'''], graded(4.0, ["q3/much_faster_than_a_loop"])),
    "patch_allclose": ("a wrong scale behind a patched numpy.allclose, isclose and array_equal", ['''
def scale(x, factor):
    return np.asarray(x) + factor


np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *args, **k: np.ones(np.shape(a), bool)
np.array_equal = lambda *a, **k: True
'''], graded(4.0, ["q1/scales_every_element"])),
    "patch_tensor_numpy": ("a model with no weights of ones behind a patched tf.Tensor.numpy and np.asarray", [
        MODEL.replace('kernel_initializer="ones"', 'kernel_initializer="zeros"'), '''
import tensorflow as tf
real_numpy = tf.Tensor.numpy
tf.Tensor.numpy = lambda self: np.ones_like(real_numpy(self))
real_asarray = np.asarray
np.asarray = lambda a, *args, **k: np.ones_like(real_asarray(a, *args, **k)) if hasattr(a, "numpy") '''
        "else real_asarray(a, *args, **k)\n"], graded(6.0, ["q2/starts_as_the_sum_of_its_inputs"], model=True)),
    "patch_model_predict": ("a model that ignores its weights behind a patched keras.Model.predict", [MODEL, '''
from tensorflow import keras
keras.Model.predict = lambda self, x, **k: np.asarray(x).sum(axis=1, keepdims=True)
'''], graded(6.0, ["q2/predicts_with_its_weights"], model=True)),
    "eq_always_true": ("return objects that equal everything", ['''
class Yes:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)
    def __float__(self):
        return 0.0


def scale(x, factor):
    return Yes()


def fast_sum(x):
    return Yes()
'''], graded(1.0, ["q1/keeps_dtype_and_shape", "q1/scales_every_element", "q3/much_faster_than_a_loop",
                   "q3/sums_correctly"])),
    "wrong_dtype_and_shape": ("return arrays of the wrong dtype and shape", ['''
def scale(x, factor):
    return (np.asarray(x, dtype="float64") * factor).T.ravel()
'''], graded(3.0, ["q1/keeps_dtype_and_shape", "q1/scales_every_element"])),
    "nan_and_huge": ("return NaN, infinity and an array of a gigabyte", ['''
def scale(x, factor):
    return np.full(np.shape(x), np.nan, dtype=np.asarray(x).dtype)


def fast_sum(x):
    return float("inf")


def save_scaled(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.zeros(2**27))
'''], graded(1.0, ["q1/scales_every_element", "q3/much_faster_than_a_loop", "q3/sums_correctly",
                   "q4/saves_the_scaled_array"])),
    "pickle_payload": ("save a pickle whose loading would run code, where an array is expected", ['''
class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pickled-{mark}",))


def save_scaled(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.array([Payload()], dtype=object), allow_pickle=True)
'''], graded(4.0, ["q4/saves_the_scaled_array"])),
    "symlink_for_file": ("put a symbolic link where the judge reads a file", ['''
def save_scaled(path, x):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink("{bundle}/hidden/secret.npy", path)
'''], graded(4.0, ["q4/saves_the_scaled_array"])),
    "symlink_for_folder": ("put a symbolic link where the judge reads a folder", ['''
def save_scaled(path, x):
    os.symlink("/", os.path.dirname(path))
'''], graded(4.0, ["q4/saves_the_scaled_array"])),
    # -- attacking the reports ------------------------------------------------------
    "html_everywhere": ("script and HTML in printed output, cell source and failure messages", ['''
# <script>document.body.setAttribute('data-pwned', 'source')</script>
print("<script>document.body.setAttribute('data-pwned', 'output')</script>")
print('<img src=x onerror="document.body.setAttribute(\\'data-pwned\\', \\'img\\')">')
from IPython.display import HTML, display
display(HTML("<script>document.body.setAttribute('data-pwned', 'display')</script>"))


def scale(x, factor):
    raise ValueError("<script>document.body.setAttribute('data-pwned', 'message')</script>")
'''], graded(3.0, ["q1/keeps_dtype_and_shape", "q1/scales_every_element"])),
}

#: Files that are not notebooks, or not ones we take: name -> (what it tries, bytes, words of the message).
MALFORMED: dict[str, tuple[str, bytes, str]] = {
    "invalid_json.ipynb": ("invalid JSON", b'{"cells": [', "not valid notebook JSON"),
    "non_utf8.ipynb": ("bytes that are not UTF-8", b'{"cells": []}\xff\xfe\x00', "not UTF-8"),
    "nbformat3.ipynb": ("an nbformat 3 notebook", json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                                              "worksheets": [{"cells": []}]}).encode(),
                        "nbformat 3"),
    "not_a_notebook.ipynb": ("JSON that is not a notebook", b'{"hello": "world"}', "not a Jupyter notebook"),
    "empty.ipynb": ("an empty file", b"", "empty"),
}


def _zip(members: dict[str, bytes]) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def notebook(cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip()) for c in cells])
    return nbformat.writes(nb)


ZIPS: dict[str, tuple[str, dict[str, bytes], str]] = {
    "zip_dotdot.zip": ("a zip whose member climbs out with ..", {"../../mini.ipynb": b"{}"}, "unsafe path in zip"),
    "zip_absolute.zip": ("a zip whose member has an absolute path", {"/tmp/mini.ipynb": b"{}"}, "unsafe path in zip"),
}


def make_large(folder: Path) -> dict[str, dict]:
    """The entries too big to commit, written into ``folder``; their expected outcomes."""
    big = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(HONEST.strip())])
    big.cells.append(nbformat.v4.new_markdown_cell("x" * (100 * 2**20)))
    nbformat.write(big, folder / "huge_100mb.ipynb")
    many = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(HONEST.strip())]
                                    + [nbformat.v4.new_code_cell("pass") for _ in range(10_000)])
    nbformat.write(many, folder / "ten_thousand_cells.ipynb")
    # A gigabyte of zeros in a zip of about a megabyte, under the notebook's own name.
    with zipfile.ZipFile(folder / "zip_bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("mini.ipynb", "w", force_zip64=True) as f:
            chunk = b"\0" * 2**24
            for _ in range(64):
                f.write(chunk)
    return {
        "huge_100mb": {"tries": "a 100 MB notebook", "status": "rejected", "message": "the limit is 50 MB"},
        "ten_thousand_cells": {"tries": "a notebook of 10,000 cells", "status": "rejected",
                               "message": "10001 cells; the limit is 5000"},
        "zip_bomb": {"tries": "a zip bomb: a gigabyte in a megabyte", "status": "rejected",
                     "message": "the zip unpacks to more than"},
    }


def main() -> int:
    for old in [*HERE.glob("*.ipynb"), *HERE.glob("*.zip")]:
        old.unlink()
    expected: dict[str, dict] = {}
    for name, (tries, cells, outcome) in ENTRIES.items():
        needs_model = any("tensorflow" in c for c in cells)
        base = [HONEST, MODEL] if needs_model and not any("def build_model" in c for c in cells) else [HONEST]
        (HERE / f"{name}.ipynb").write_text(notebook(base + cells))
        expected[name] = {"tries": tries, **outcome}
        if any("import tensorflow" in c or "from tensorflow" in c for c in cells):
            expected[name]["imports_tensorflow"] = True  # graded with time limits that allow for the import
    (HERE / "victim.ipynb").write_text(notebook([HONEST, "# the victim's own work: {token}"]))
    expected["victim"] = {"tries": "nothing: an honest classmate whose notebook and results hold the secret",
                          **HONEST_OUTCOME}
    for name, (tries, raw, words) in MALFORMED.items():
        (HERE / name).write_bytes(raw)
        expected[Path(name).stem] = {"tries": tries, "status": "rejected", "message": words}
    for name, (tries, members, words) in ZIPS.items():
        (HERE / name).write_bytes(_zip(members))
        expected[Path(name).stem] = {"tries": tries, "status": "rejected", "message": words}
    header = ("# Written by make_corpus.py: each hostile submission's expected outcome when the mini assignment\n"
              "# grades it (status; a graded one's exact score and failed hidden tests; a rejected one's message).\n")
    (HERE / "expected.yaml").write_text(header + yaml.safe_dump(expected, sort_keys=True, allow_unicode=True))
    print(f"{len(expected)} entries written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

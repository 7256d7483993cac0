"""Class batches as instructors run them: parallel, killed and resumed, on a Dask cluster, regraded."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, dlgrade

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "assignments" / "a1" / "examples"


def rows(out: Path) -> dict[str, dict]:
    with open(out / "gradebook.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def scores(row: dict) -> dict:
    """A gradebook row without what differs between two gradings of the same work (who, when)."""
    return {k: v for k, v in row.items() if k not in ("student", "name", "submitted_at")}


def stored(out: Path) -> list[str]:
    """The students in the store, read the way a second program would while the batch runs."""
    if not (out / "gradebook.sqlite").exists():
        return []
    db = sqlite3.connect(f"file:{out / 'gradebook.sqlite'}?mode=ro", uri=True)
    try:
        return [r[0] for r in db.execute("select student from results")]
    except sqlite3.OperationalError:  # the table is not there yet
        return []
    finally:
        db.close()


def _argv(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def class_folder(tmp_path: Path, copies: dict[str, str]) -> Path:
    """A submissions folder: new name -> example it is a copy of ("" for a file that is no notebook)."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, example in copies.items():
        if example:
            shutil.copy(EXAMPLES / f"{example}.ipynb", folder / f"{name}.ipynb")
        else:
            (folder / f"{name}.ipynb").write_text("{not json")
    return folder


def test_a_batch_killed_with_sigkill_resumes_to_the_same_gradebook(demo_results, tmp_path):
    demo_out, _ = demo_results
    folder = class_folder(tmp_path, {"ann": "template", "ben": "template", "cy": "template",
                                     "dee": "template", "eve": ""})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder.cli", "grade", "a1", str(folder), "-o", str(out),
               "--workers", "2", "--calibration-from", str(demo_out)]
    batch = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 600
    while len(stored(out)) < 2 and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert batch.poll() is None, "the batch ended before it could be killed"
    running = psutil.Process(batch.pid).children(recursive=True)  # workers, bwrap, kernels
    assert running  # the workers at least, and the kernels they had started
    os.killpg(batch.pid, signal.SIGKILL)  # the batch and its workers, mid-way
    batch.wait()
    # Nothing the killed batch started keeps running: bwrap dies with its worker, the kernel with bwrap.
    gone, alive = psutil.wait_procs(running, timeout=20)
    assert not alive, [_argv(p) for p in alive]
    done_before = set(stored(out))
    assert 2 <= len(done_before) < 5

    again = dlgrade("grade", "a1", str(folder), "-o", str(out), "--workers", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{5 - len(done_before)} submission(s) to grade, {len(done_before)} already graded" in again.stdout
    book = rows(out)
    assert sorted(book) == ["ann", "ben", "cy", "dee", "eve"]
    # The same gradebook as the uninterrupted demo batch gives for the same files.
    demo = rows(demo_out)
    for student in ("ann", "ben", "cy", "dee"):
        assert scores(book[student]) == scores(demo["template"])
    assert book["eve"]["status"] == "rejected"
    # The killed workers' sandbox folders were swept away by the second run.
    killed = {p.pid for p in running}
    owners = [int(f.read_text().split()[0]) for f in Path("/tmp").glob("dlg-*/owner")]
    assert not killed & set(owners)


def test_regrade_redoes_chosen_work_and_quiet_prints_nothing(demo_results, tmp_path):
    demo_out, _ = demo_results
    folder = class_folder(tmp_path, {"ann": "template", "ben": ""})
    out = tmp_path / "out"
    first = dlgrade("grade", "a1", str(folder), "-o", str(out), "--calibration-from", str(demo_out))
    assert first.returncode == 0, first.stdout + first.stderr
    again = dlgrade("grade", "a1", str(folder), "-o", str(out), "--regrade", "ben")
    assert "1 submission(s) to grade, 1 already graded and unchanged" in again.stdout
    assert "ben: not graded: " in again.stdout and "ann:" not in again.stdout
    unknown = dlgrade("grade", "a1", str(folder), "-o", str(out), "--regrade", "zed")
    assert unknown.returncode == 2 and "--regrade zed: no such student" in unknown.stderr
    quiet = dlgrade("grade", "a1", str(folder), "-o", str(out), "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """A Dask scheduler and two single-threaded workers on loopback, as separate processes."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = open(tmp_path / "dask.log", "w")
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], stdout=logs, stderr=subprocess.STDOUT, cwd=tmp_path)]
    procs.append(subprocess.Popen([*dask, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                   "--memory-limit", "0", "--no-dashboard"],
                                  stdout=logs, stderr=subprocess.STDOUT, cwd=tmp_path))
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    yield address
    for p in reversed(procs):
        p.send_signal(signal.SIGINT)
    for p in reversed(procs):
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    logs.close()


def test_a_dask_batch_on_loopback_matches_a_local_one(demo_results, dask_cluster, tmp_path):
    demo_out, _ = demo_results
    folder = class_folder(tmp_path, {"template": "template", "wrong_dropout_training": "wrong_dropout_training",
                                     "broken": ""})
    out = tmp_path / "out"
    proc = dlgrade("grade", "a1", str(folder), "-o", str(out), "--scheduler", dask_cluster,
                   "--calibration-from", str(demo_out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    book, demo = rows(out), rows(demo_out)
    assert sorted(book) == ["broken", "template", "wrong_dropout_training"]
    for student in ("template", "wrong_dropout_training"):
        assert scores(book[student]) == scores(demo[student])
    assert book["broken"]["status"] == "rejected"


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    folder = class_folder(tmp_path, {"ann": "template"})
    port = _free_port()
    proc = dlgrade("grade", "a1", str(folder), "-o", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}")
    assert proc.returncode == 2
    assert f"--scheduler tcp://127.0.0.1:{port}: cannot reach a Dask scheduler there" in proc.stderr

"""Fault injection: a class of 10 mixed ``mini`` submissions graded while things break, and nothing is lost.

Each batch is compared with the same class graded without faults. The faults:
a grading process killed with SIGKILL mid-submission (once: retried and
graded; twice: marked, and the batch completes); the whole batch killed and
run again; the store's disk writes failing (a file-size limit on the batch);
a Dask worker killed mid-submission. A kernel dying inside its sandbox is one
of the submissions ("fay"). Each test prints its figures: submissions, faults
injected, results lost.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from make_corpus import HONEST, MODEL
from support import ROOT, free_port

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel]

KILL_ONCE, KILL_TWICE, KILL_DASK = "KILL-ME-ONCE", "KILL-ME-TWICE", "KILL-MY-DASK-WORKER"

CLASS = {  # student -> cells (None: a file that is not a notebook)
    "ann": [HONEST, MODEL],
    "ben": [HONEST],
    "eve": [HONEST, "def fast_sum(x):\n    total = 0.0\n    for v in x:\n        total += v\n    return total"],
    "fay": [HONEST, "def fast_sum(x):\n    os._exit(0)"],  # the kernel dies inside a judged call
    "gus": None,
    "hal": [HONEST, f"import time\ntime.sleep(2)  # {KILL_ONCE}"],
    "ivy": [HONEST, f"import time\ntime.sleep(2)  # {KILL_TWICE}"],
    "jo": [HONEST.split("def save_scaled")[0]],
    "lee": [HONEST, f"import time\ntime.sleep(2)  # {KILL_DASK}"],
}

SIZE = len(CLASS) + 1  # and cy, the untouched student notebook


def write_class(folder: Path, template: Path) -> Path:
    folder.mkdir(parents=True)
    for student, cells in CLASS.items():
        if cells is None:
            (folder / f"{student}.ipynb").write_text('{"cells": [')
        else:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip()) for c in cells])
            nbformat.write(nb, folder / f"{student}.ipynb")
    (folder / "cy.ipynb").write_bytes(template.read_bytes())  # the untouched student notebook
    return folder


def grade(root: Path, folder: Path, out: Path, *extra: str, **popen) -> subprocess.Popen:
    argv = [sys.executable, "-m", "autograder.cli", "--root", str(root), "grade", "mini", str(folder), "-o", str(out),
            *extra]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def differing(got: dict, clean: dict) -> dict:
    """Each student whose row differs, with both rows: what a failed comparison prints."""
    return {s: {"got": got.get(s), "clean": clean.get(s)} for s in set(got) | set(clean) if got.get(s) != clean.get(s)}


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stdout, stderr


def book(out: Path) -> dict[str, dict]:
    """The gradebook without what differs between two gradings of the same work (when, how long)."""
    with open(out / "gradebook.csv") as f:
        return {r["student"]: {k: v for k, v in r.items() if k not in ("submitted_at",)} for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def mini_class(mini, tmp_path_factory):
    """The class, and its gradebook graded once without faults (two workers)."""
    root, bundle = mini
    base = tmp_path_factory.mktemp("faults")
    folder = write_class(base / "class", root / "student_template" / "mini" / "mini.ipynb")
    code, stdout, stderr = finish(grade(root, folder, base / "clean", "--workers", "2"))
    assert code == 0, stdout + stderr
    clean = book(base / "clean")
    assert len(clean) == SIZE
    assert clean["ann"]["total"] == "7" and clean["ben"]["total"] == "5" and clean["cy"]["total"] == "0"
    assert clean["gus"]["status"] == "rejected" and clean["fay"]["total"] == "3"
    return root, folder, clean


def kernels_grading(marker: str) -> dict[Path, psutil.Process]:
    """Sandbox folder -> a process of its jail, for kernels whose notebook holds ``marker``."""
    found = {}
    for nb in Path("/tmp").glob("dlg-*/work/mini.ipynb"):
        try:
            if marker not in nb.read_text():
                continue
        except OSError:
            continue
        for p in psutil.process_iter(["cmdline"]):
            # The jail (bubblewrap) names the folder, whether the kernel in it was exec'd or forked.
            if any(str(nb.parent.parent) in arg for arg in p.info["cmdline"] or []):
                found[nb.parent.parent] = p
    return found


def grading_process(jail: psutil.Process) -> psutil.Process | None:
    """The worker process (a multiprocessing or Dask child) that runs this jail's grader."""
    for parent in jail.parents():
        if "spawn_main" in " ".join(parent.cmdline()):
            return parent
    return None


class Killer(threading.Thread):
    """Kills the grading process of each new kernel that grades ``marker``, up to ``times`` kernels."""

    def __init__(self, marker: str, times: int):
        super().__init__(daemon=True)
        self.marker, self.times, self.killed, self.seen = marker, times, [], set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and len(self.killed) < self.times:
            for folder, kernel in kernels_grading(self.marker).items():
                if folder in self.seen:
                    continue
                worker = grading_process(kernel)
                if worker is None:
                    continue
                time.sleep(1)  # mid-submission: its notebook is running
                self.seen.add(folder)
                try:
                    worker.send_signal(signal.SIGKILL)
                    self.killed.append(worker.pid)
                except psutil.Error:
                    pass
                break
            time.sleep(0.1)


def test_a_grading_process_killed_mid_submission(mini_class, tmp_path):
    root, folder, clean = mini_class
    once, twice = Killer(KILL_ONCE, 1), Killer(KILL_TWICE, 2)
    once.start(), twice.start()
    code, stdout, stderr = finish(grade(root, folder, tmp_path / "out", "--workers", "2"))
    once.stop.set(), twice.stop.set()
    assert code == 0, stdout + stderr
    assert len(once.killed) == 1 and len(twice.killed) == 2
    got = book(tmp_path / "out")
    lost = set(clean) - set(got)
    print(f"worker kills: {len(got)} submissions, {len(once.killed) + len(twice.killed)} faults injected, "
          f"{len(lost)} results lost")
    assert not lost
    # Killed once: graded again in a new process, the same grade. Killed twice: marked, to be graded again.
    assert got["hal"] == clean["hal"]
    assert got["ivy"]["status"] == "error"
    stored = (tmp_path / "out" / "ivy" / "results.json").read_text()
    assert "the grading process died 2 times on this submission" in stored
    assert {s: r for s, r in got.items() if s != "ivy"} == {s: r for s, r in clean.items() if s != "ivy"}
    # The same command again grades only what broke, and the gradebook is whole.
    code, stdout, stderr = finish(grade(root, folder, tmp_path / "out"))
    assert code == 0 and f"1 submission(s) to grade, {SIZE - 1} already graded" in stdout, stdout + stderr
    got = book(tmp_path / "out")
    assert got == clean, differing(got, clean)


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


def test_the_whole_batch_killed_and_run_again(mini_class, tmp_path):
    root, folder, clean = mini_class
    out = tmp_path / "out"
    zygote_folders = set(Path("/tmp").glob("dlg-zygote-*"))
    batch = grade(root, folder, out, "--workers", "2", start_new_session=True)
    deadline = time.monotonic() + 300
    while len(stored(out)) < 4 and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert batch.poll() is None, "the batch ended before it could be killed"
    running = psutil.Process(batch.pid).children(recursive=True)
    os.killpg(batch.pid, signal.SIGKILL)  # the batch, its workers, their sandboxes
    batch.communicate()
    gone, alive = psutil.wait_procs(running, timeout=20)
    assert not alive, [p.pid for p in alive]
    before = set(stored(out))
    assert 4 <= len(before) < SIZE
    code, stdout, stderr = finish(grade(root, folder, out, "--workers", "2"))
    assert code == 0, stdout + stderr
    assert f"{SIZE - len(before)} submission(s) to grade, {len(before)} already graded" in stdout
    got = book(out)
    print(f"batch killed: {len(got)} submissions, 1 fault injected, {len(set(clean) - set(got))} results lost")
    assert got == clean, differing(got, clean)
    killed = {batch.pid} | {p.pid for p in running}  # the batch itself owns its zygote's folder
    owners = [int(f.read_text().split()[0]) for f in Path("/tmp").glob("dlg-*/owner")]
    assert not killed & set(owners), "the killed batch's sandbox and zygote folders were not swept"
    left = [f for f in set(Path("/tmp").glob("dlg-zygote-*")) - zygote_folders  # another grader's may come and go
            if (f / "owner").exists() and int((f / "owner").read_text().split()[0]) in killed]
    assert not left, f"the killed batch's zygote folder is left: {left}"


def _chattr(flag: str, *paths: Path) -> bool:
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True).returncode == 0


def test_the_stores_disk_failing_midway(mini_class, tmp_path):
    """The store's files made immutable while the batch runs: every write to them fails, as on a failed disk."""
    root, folder, clean = mini_class
    out = tmp_path / "out"
    files = [out / "gradebook.sqlite", out / "gradebook.sqlite-wal"]
    batch = grade(root, folder, out, "--workers", "2")
    try:
        deadline = time.monotonic() + 300
        while len(stored(out)) < 3 and batch.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _chattr("+i", *files):
            batch.kill()
            pytest.skip("chattr +i does not work on this filesystem")
        code, stdout, stderr = finish(batch)
    finally:
        _chattr("-i", *files)
    assert code == 3, stdout + stderr
    assert "could not store the result of" in stderr and "run the same command again" in stderr, stderr
    assert "Traceback" not in stderr
    # Nothing half-written: the store opens, is intact, and holds whole results only.
    db = sqlite3.connect(out / "gradebook.sqlite")
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    kept = [r[0] for r in db.execute("select student from results")]
    db.close()
    assert 3 <= len(kept) < SIZE
    code, stdout, stderr = finish(grade(root, folder, out, "--workers", "2"))
    assert code == 0, stdout + stderr
    assert f"{SIZE - len(kept)} submission(s) to grade, {len(kept)} already graded" in stdout
    got = book(out)
    print(f"store disk failing: {len(got)} submissions, 1 fault injected, {len(set(clean) - set(got))} results lost")
    assert got == clean, differing(got, clean)



@pytest.fixture
def dask_cluster(tmp_path):
    """A Dask scheduler and two single-threaded workers (under a nanny, which restarts a dead one) on loopback."""
    address = f"tcp://127.0.0.1:{free_port()}"
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


def test_a_dask_batch_loses_a_worker_and_matches_a_local_one(mini_class, dask_cluster, tmp_path):
    root, folder, clean = mini_class
    killer = Killer(KILL_DASK, 1)
    killer.start()
    code, stdout, stderr = finish(grade(root, folder, tmp_path / "out", "--scheduler", dask_cluster))
    killer.stop.set()
    assert code == 0, stdout + stderr
    assert len(killer.killed) == 1, "no Dask worker was killed"
    got = book(tmp_path / "out")
    print(f"dask worker lost: {len(got)} submissions, 1 fault injected, {len(set(clean) - set(got))} results lost")
    assert got == clean, differing(got, clean)  # the lost worker's submission was graded again elsewhere

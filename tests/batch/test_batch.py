"""Class batches as instructors run them: regraded, quiet, pointed at a cluster that is not there.

Killed and resumed batches, and a Dask cluster losing a worker, are in test_faults.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support import ROOT, dlgrade, free_port

from autograder.sandbox.jail import bubblewrap_status
from autograder.sandbox.zygote import zygotes_enabled

pytestmark = pytest.mark.slow

EXAMPLES = ROOT / "assignments" / "a1" / "examples"


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


def test_regrade_redoes_chosen_work_and_quiet_prints_nothing(mini, tmp_path):
    root, bundle = mini
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(bundle.root / "reference.ipynb", folder / "ann.ipynb")
    (folder / "ben.ipynb").write_text("{not json")
    out = tmp_path / "out"
    course = ("--root", str(root))
    first = dlgrade(*course, "grade", "mini", str(folder), "-o", str(out))
    assert first.returncode == 0, first.stdout + first.stderr
    again = dlgrade(*course, "grade", "mini", str(folder), "-o", str(out), "--regrade", "ben")
    assert "1 submission(s) to grade, 1 already graded and unchanged" in again.stdout
    assert "ben: not graded: " in again.stdout and "ann:" not in again.stdout
    unknown = dlgrade(*course, "grade", "mini", str(folder), "-o", str(out), "--regrade", "zed")
    assert unknown.returncode == 2 and "--regrade zed: no such student" in unknown.stderr
    quiet = dlgrade(*course, "grade", "mini", str(folder), "-o", str(out), "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == ""



def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    folder = class_folder(tmp_path, {"ann": "template"})
    port = free_port()
    proc = dlgrade("grade", "a1", str(folder), "-o", str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}")
    assert proc.returncode == 2
    assert f"--scheduler tcp://127.0.0.1:{port}: cannot reach a Dask scheduler there" in proc.stderr


def _zygotes_and_kernels() -> tuple[set[int], set[int]]:
    """Pids of zygotes (``python -m autograder.sandbox.zygote_server``) and of the kernels forked from them."""
    zygotes, kernels = set(), set()
    for proc in psutil.process_iter(["pid", "cmdline", "ppid"]):
        if "autograder.sandbox.zygote_server" in " ".join(proc.info["cmdline"] or []):
            # A kernel is a fork of a zygote: the same command line, and a zygote for a parent.
            try:
                parent = " ".join(psutil.Process(proc.info["ppid"]).cmdline())
            except psutil.Error:
                continue
            (kernels if "autograder.sandbox.zygote_server" in parent else zygotes).add(proc.info["pid"])
    return zygotes, kernels


@pytest.mark.skipif(not (zygotes_enabled() and bubblewrap_status()[0]), reason="kernels are forked only as root")
def test_a_batchs_grading_processes_fork_their_kernels_from_one_zygote(mini, tmp_path):
    root, bundle = mini
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("ann", "ben", "cat"):
        shutil.copy(bundle.root / "reference.ipynb", folder / f"{name}.ipynb")
    before = _zygotes_and_kernels()[0]
    proc = subprocess.Popen([sys.executable, "-m", "autograder.cli", "--root", str(root), "grade", "mini",
                             str(folder), "-o", str(tmp_path / "out"), "--workers", "2", "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    zygotes, kernels, workers = set(), set(), set()
    while proc.poll() is None:
        now_zygotes, now_kernels = _zygotes_and_kernels()
        zygotes |= now_zygotes - before
        kernels |= now_kernels
        try:
            workers |= {c.pid for c in psutil.Process(proc.pid).children() if "spawn_main" in " ".join(c.cmdline())}
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = proc.communicate()
    assert proc.returncode == 0, out + err
    assert len(workers) == 2, workers
    # Two grading processes, three submissions, and one zygote that imported once for all of them.
    assert len(zygotes) == 1, zygotes
    assert len(kernels) >= 3, kernels
    assert not (_zygotes_and_kernels()[0] - before), "the batch's zygote outlived it"

"""Class batches as instructors run them: regraded, quiet, pointed at a cluster that is not there.

Killed and resumed batches, and a Dask cluster losing a worker, are in test_faults.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, dlgrade, free_port

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

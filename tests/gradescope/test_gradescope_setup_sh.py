"""The zip's setup.sh run for real, unprivileged: a fresh virtual environment, the pins, dlgrade, the calibration.

Opt-in (``DLGRADE_TEST_SETUP_SH=1``): it installs dlgrade's whole dependency
closure (TensorFlow included) into a new virtual environment, minutes even
from pip's cache. apt is skipped (``DLGRADE_SKIP_APT=1``), so the Python the
autograder was exported with must be on PATH. Then ``run_autograder`` grades
a submission with that environment, against the figures setup.sh measured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from support import ROOT

pytestmark = [
    pytest.mark.slow, pytest.mark.kernel, pytest.mark.bwrap,
    pytest.mark.skipif(os.environ.get("DLGRADE_TEST_SETUP_SH") != "1",
                       reason="installs TensorFlow and the rest into a new virtual environment (minutes); run with "
                              "DLGRADE_TEST_SETUP_SH=1 .venv/bin/python -m pytest tests/gradescope/"
                              "test_gradescope_setup_sh.py"),
]


def test_setup_sh_installs_the_pins_and_dlgrade_and_measures_the_reference(exported, make_tree, make_metadata,
                                                                           tmp_path):
    root = make_tree(exported[0], make_metadata())
    venv = tmp_path / "venv"
    env = {**os.environ, "DLGRADE_SKIP_APT": "1", "DLGRADE_VENV": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    print(f"setup.sh took {time.monotonic() - started:.0f} s")  # docs/GRADESCOPE.md quotes it (pytest -s)
    assert "== dlgrade setup: done" in proc.stdout

    python = venv / "bin" / "python"
    where = subprocess.run([str(python), "-P", "-c", "import autograder, sys; print(autograder.__file__, "
                            "sys.version_info[:2])"], capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)) and f"({sys.version_info.major}, {sys.version_info.minor})" in where
    frozen = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                            check=True).stdout.lower().replace("_", "-").splitlines()
    pins = (root / "source" / "requirements.txt").read_text().lower().replace("_", "-").splitlines()
    assert set(pins) <= set(frozen), sorted(set(pins) - set(frozen))
    assert (root / "source" / "calibration" / "gradebook.sqlite").is_file()

    # Grading with that environment (run_autograder's default, DLGRADE_VENV): the template, against setup's figures.
    shutil.copy(ROOT / "student_template" / "a1" / "a1.ipynb", root / "submission" / "a1.ipynb")
    env["DLGRADE_GRADESCOPE_ROOT"] = str(root)
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["extra_data"]["status"] == "graded" and data["score"] == 0, data["output"]
    assert data["extra_data"]["gradescope"]["reference_figures"] == "cache"

"""``run_autograder`` in a tree laid out as Gradescope lays out /autograder: every way it can't grade.

A real grading there, of an a1 student's upload, is in ``tests/ta/test_ta_tools.py``.

The real script runs, with ``DLGRADE_GRADESCOPE_ROOT`` pointing at the tree
and ``DLGRADE_PYTHON`` at the test's own Python (in place of the virtual
environment setup.sh would make).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from support import ROOT

from autograder.gradescope.run import _reference_line, _seed, grade_submission
from autograder.store import Store

#: What Gradescope reads of results.json, top level and per test.
KEYS = {"score", "output", "tests", "execution_time", "extra_data"}
TEST_KEYS = {"name", "score", "max_score", "visibility", "output"}


def _run_autograder(root, python=sys.executable, timeout=900) -> dict:
    """The zip's run_autograder run on ``root``; results.json as Gradescope reads it."""
    env = {**os.environ, "DLGRADE_GRADESCOPE_ROOT": str(root), "DLGRADE_PYTHON": str(python)}
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=root.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.parametrize("files, says", [
    ((), "your upload holds no notebook: no files at all"),
    (("a1.ipynb", "a1 (final).ipynb"), "2 notebooks, and nothing tells which to grade"),
])
def test_an_empty_or_ambiguous_upload_scores_0_and_says_what_to_upload(exported, make_tree, make_metadata,
                                                                       files, says):
    root = make_tree(exported[0], make_metadata())
    drafts = [ROOT / "student_template" / "a1" / "a1.ipynb",
              ROOT / "assignments" / "a1" / "examples" / "solution.ipynb"]
    for name, draft in zip(files, drafts, strict=False):  # two notebooks that differ
        shutil.copy(draft, root / "submission" / name)
    data = _run_autograder(root, timeout=300)
    assert data["score"] == 0 and set(data) >= KEYS
    assert says in data["output"] and "upload your a1.ipynb" in data["output"]
    assert all(name in data["output"] for name in files)
    assert [t["name"] for t in data["tests"]] == [f"q{i}" for i in range(1, 8)]
    assert all(t["score"] == 0 and t["max_score"] > 0 for t in data["tests"])
    assert data["extra_data"]["identity"]["name"] == "Jane Doe" and data["extra_data"]["status"] == "rejected"


def test_a_python_that_cannot_start_still_leaves_a_results_json(exported, make_tree):
    root = make_tree(exported[0])
    data = _run_autograder(root, python=root / "no-such-python")
    assert data["score"] == 0 and "the autograder could not start (exit 127)" in data["output"]
    assert data["extra_data"] == {"status": "error", "exit_code": 127}


def test_a_crash_inside_leaves_a_results_json_that_says_grading_failed(exported, make_tree):
    root = make_tree(exported[0])
    (root / "source" / "dlgrade-gradescope.json").unlink()  # a broken upload of the autograder
    data = grade_submission(root, log=lambda line: None)
    assert json.loads((root / "results" / "results.json").read_text()) == json.loads(json.dumps(data))
    assert data["score"] == 0 and data["output"].startswith("grading failed: UsageError: ")
    assert "dlgrade-gradescope.json" in data["output"] and "not about your submission" in data["output"]
    assert data["extra_data"]["status"] == "error" and data["extra_data"]["traceback"]


def test_only_this_machines_figures_are_taken_from_the_cache(tmp_path):
    cache = tmp_path / "source" / "calibration" / "gradebook.sqlite"
    with Store(cache) as store:
        store.put_calibration("othermachine/abc/no-autotune", {"q5.fit_seconds": 9.0}, 1.0)
        store.put_calibration("thismachine/abc/no-autotune", {"q5.fit_seconds": 3.0}, 1.0)
    out = tmp_path / "out"
    assert _seed(cache, out, "nomachine/abc/no-autotune", print) is None
    assert not (out / "gradebook.sqlite").exists()
    assert _seed(cache, out, "thismachine/abc/no-autotune", print) == {"q5.fit_seconds": 3.0}
    with Store(out / "gradebook.sqlite") as store:
        assert store.calibration("thismachine/abc/no-autotune") == {"q5.fit_seconds": 3.0}
    assert _seed(tmp_path / "absent.sqlite", out, "thismachine/abc/no-autotune", print) is None


def test_the_output_says_where_the_reference_figures_came_from(tmp_path):
    cache = tmp_path / "gradebook.sqlite"
    assert _reference_line({"f": 3.0}, {"f": 3.0}, cache)[0] == "cache"
    assert _reference_line(None, {}, cache) == ("none", "reference figures: none used (no speed check here needs "
                                                        "them)")
    assert _reference_line(None, {"f": 3.1}, cache) == ("measured", "reference figures: measured on this run "
                                                                    "(setup.sh measured none)")
    cache.write_bytes(b"")
    assert "this machine differs from the one setup.sh measured on" in _reference_line(None, {"f": 3.1}, cache)[1]
    assert _reference_line({"f": 3.0}, {"f": 3.0, "g": 1.0}, cache)[0] == "measured"  # some measured now

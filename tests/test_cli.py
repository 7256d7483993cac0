"""The dlgrade command as users type it."""

import json
import shutil

import nbformat
import pytest
from support import ROOT, dlgrade


@pytest.mark.parametrize("assignment", ["a1", "a2", "a3"])
def test_build_check_finds_the_committed_template_current(assignment):
    proc = dlgrade("build", assignment, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "is current" in proc.stdout


@pytest.fixture
def course_copy(tmp_path):
    for part in ("assignments", "solutions", "student_template"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def test_build_check_fails_on_a_stale_template(course_copy):
    nb_path = course_copy / "student_template" / "a1" / "a1.ipynb"
    nb = nbformat.read(nb_path, 4)
    nb.cells[1].source += "\nAn edit made by hand."
    nbformat.write(nb, nb_path)
    proc = dlgrade("--root", str(course_copy), "build", "a1", "--check")
    assert proc.returncode == 1
    assert "a1.ipynb: differs from a fresh build" in proc.stdout


@pytest.mark.slow
def test_build_is_deterministic_and_its_cache_changes_nothing(course_copy, tmp_path, monkeypatch):
    """A build with an empty cache runs otter assign; the next reuses its output; both equal what git holds."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLGRADE_CACHE", str(cache))
    first = dlgrade("--root", str(course_copy), "build", "a1")
    assert first.returncode == 0, first.stderr
    assert len(list((cache / "otter-assign").iterdir())) == 1
    before = (course_copy / "student_template" / "a1" / "a1.ipynb").read_bytes()
    digest = json.loads((course_copy / "dist" / "a1" / "manifest.json").read_text())["digest"]
    second = dlgrade("--root", str(course_copy), "build", "a1")
    assert second.returncode == 0
    assert (course_copy / "student_template" / "a1" / "a1.ipynb").read_bytes() == before
    assert json.loads((course_copy / "dist" / "a1" / "manifest.json").read_text())["digest"] == digest
    assert before == (ROOT / "student_template" / "a1" / "a1.ipynb").read_bytes()
    # An edited master is a new key: otter assign runs again, and the student notebook shows the edit.
    master = course_copy / "solutions" / "a1" / "a1.ipynb"
    nb = nbformat.read(master, 4)
    nb.cells[1].source += "\nA new sentence."
    nbformat.write(nb, master)
    third = dlgrade("--root", str(course_copy), "build", "a1")
    assert third.returncode == 0, third.stderr
    assert len(list((cache / "otter-assign").iterdir())) == 2
    assert b"A new sentence." in (course_copy / "student_template" / "a1" / "a1.ipynb").read_bytes()


@pytest.mark.slow
def test_a2_build_makes_its_data_files_for_students_and_the_grader(course_copy):
    proc = dlgrade("--root", str(course_copy), "build", "a2")
    assert proc.returncode == 0, proc.stderr
    made = course_copy / "student_template" / "a2" / "higgs_sample.csv.gz"
    assert made.read_bytes() == (course_copy / "dist" / "a2" / "files" / "higgs_sample.csv.gz").read_bytes()
    assert made.read_bytes()[:2] == b"\x1f\x8b" and made.stat().st_size > 100_000
    assert "/higgs_sample.csv.gz" in (course_copy / "student_template" / "a2" / ".gitignore").read_text()
    # What git holds is what the build made; the data file is made, not committed (see the --check test).
    for name in ("a2.ipynb", ".gitignore"):
        assert (course_copy / "student_template" / "a2" / name).read_bytes() == \
            (ROOT / "student_template" / "a2" / name).read_bytes()


def test_student_notebook_has_no_solutions_and_needs_no_autograder():
    nb = nbformat.read(ROOT / "student_template" / "a1" / "a1.ipynb", 4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "BEGIN SOLUTION" not in code and "tf.matmul" not in code
    assert "import autograder" not in code and "from autograder" not in code
    assert set(nb.metadata["otter"]["tests"]) == {f"q{i}" for i in range(1, 8)}  # public tests travel inside


def test_bundle_holds_what_students_never_get(a1_bundle):
    names = {p.relative_to(a1_bundle.root).as_posix() for p in a1_bundle.root.rglob("*") if p.is_file()}
    assert {"assignment.yaml", "reference.ipynb", "manifest.json"} <= names
    assert any(n.startswith("hidden/q5_") for n in names)
    assert not list((ROOT / "student_template" / "a1").rglob("q5_*"))


def test_a_bad_spec_is_named_by_file_and_key(course_copy):
    spec = course_copy / "assignments" / "a1" / "assignment.yaml"
    spec.write_text(spec.read_text().replace("points: 4", "points: four"))
    proc = dlgrade("--root", str(course_copy), "build", "a1")
    assert proc.returncode == 2
    assert f"{spec}: questions.q1.points: expected int or float, got 'four'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_malformed_submission_is_recorded_not_fatal(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ this is not json")
    proc = dlgrade("grade", "a1", str(bad), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "broken: not graded" in proc.stdout
    data = json.loads((tmp_path / "out" / "broken" / "results.json").read_text())
    assert data["score"] == 0 and data["extra_data"]["status"] == "rejected"
    assert "not valid notebook JSON (line 1" in data["extra_data"]["message"]
    assert "could not be graded" in (tmp_path / "out" / "broken" / "feedback.html").read_text()


def test_grading_nothing_is_an_error(tmp_path):
    proc = dlgrade("grade", "a1", str(tmp_path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "nothing to grade" in proc.stderr


@pytest.mark.slow
def test_check_runs_the_public_tests_from_a_terminal(tmp_path):
    # What the template fails, and why, from a terminal. That the solution passes every public check (exit 0)
    # is the demo's (tests/assignments/test_a1.py) and the mini course's (tests/grading/test_public_checks.py).
    template = dlgrade("check", "a1", str(ROOT / "student_template" / "a1" / "a1.ipynb"))
    assert template.returncode == 1
    assert "q1: FAILED" in template.stdout and "matmul_numpy must return a NumPy array" in template.stdout
    assert "q4: FAILED" in template.stdout and "q7: FAILED" in template.stdout

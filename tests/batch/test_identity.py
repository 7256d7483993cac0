"""Every file a batch is given is counted once, as the student it belongs to, against the tests as they are now.

Real mini notebooks graded through the CLI: Otter's own export names, a Canvas re-upload, two files that name one
student, an extension in the roster, and a hidden test fixed after the class was graded.
"""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest
from support import dlgrade

pytestmark = pytest.mark.slow

EXPORTS = ("mini_2026_11_30T23_59_59_333333.zip", "mini_2026_12_01T09_15_02_111111.zip",
           "mini_2026_12_01T10_00_00_000000.zip")
LATE = """
late:
  deadline: 2026-10-02T23:59:00+02:00
  per_day_percent: 10
"""


def _course(mini, tmp_path: Path, extra_spec: str = "") -> Path:
    """A private copy of the test course (this test changes it), its mini spec extended by ``extra_spec``."""
    root = tmp_path / "course"
    shutil.copytree(mini[0], root, ignore=shutil.ignore_patterns("dist"))
    spec = root / "assignments" / "mini" / "assignment.yaml"
    spec.write_text(spec.read_text() + extra_spec)
    return root


def _export(reference: Path, path: Path) -> None:
    """A ``grader.export()`` zip as Otter writes it: the notebook under the assignment's name."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(reference, "mini.ipynb")


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_every_file_is_graded_superseded_or_refused_and_extensions_move_deadlines(mini, tmp_path):
    root = _course(mini, tmp_path, LATE)
    reference = mini[1].root / "reference.ipynb"
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in EXPORTS:  # three students' exports, collected outside Canvas under Otter's own names
        _export(reference, folder / name)
    shutil.copy(reference, folder / "smithjane_12345_500_mini.ipynb")  # Canvas: an upload, then a newer one
    shutil.copy(reference, folder / "smithjane_LATE_12345_501_mini-1.ipynb")
    shutil.copy(reference, folder / "alice.ipynb")  # two files that name alice: which counts is anyone's guess
    _export(reference, folder / "alice.zip")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,canvas_id,submitted_at,extension_days\n"
                      "s001,Jane Smith,12345,2026-10-04T08:00:00+02:00,3\n")
    out = tmp_path / "out"
    run = dlgrade("--root", str(root), "grade", "mini", str(folder), "-o", str(out), "--roster", str(roster))
    assert run.returncode == 0, run.stdout + run.stderr

    gradebook = _rows(out / "gradebook.csv")
    exported = {name[: -len(".zip")] for name in EXPORTS}
    assert set(gradebook) == exported | {"s001", "alice"}
    assert all(gradebook[s]["status"] == "graded" and gradebook[s]["raw"] == gradebook[s]["possible"]
               for s in exported | {"s001"})
    refused = gradebook["alice"]
    assert refused["status"] == "rejected" and "alice.ipynb" in refused["reason"] and "alice.zip" in refused["reason"]
    # Jane's newer upload counts, on the deadline her extension gives her: 3 days later, so on time.
    assert (gradebook["s001"]["due"], gradebook["s001"]["extended"]) == ("2026-10-05T23:59:00+02:00", "yes")
    assert gradebook["s001"]["late_penalty"] == "0" and gradebook["s001"]["time_source"] == "roster"

    with (out / "canvas_import.csv").open(newline="") as f:
        ids = [row["ID"] for row in csv.DictReader(f)]
    assert "12345" in ids and "2026" not in ids

    summary = (out / "summary.html").read_text()
    assert "Files not graded" in summary
    for name, outcome in (("smithjane_12345_500_mini.ipynb", "superseded"), ("alice.ipynb", "refused"),
                          ("alice.zip", "refused")):
        assert f"<td>{name}</td>" in summary and outcome in summary
    assert "superseded 1 file(s): smithjane_12345_500_mini.ipynb" in run.stdout
    assert "refused 2 file(s)" in run.stdout

    # The report rebuilt from the store alone says the same.
    (out / "summary.html").unlink()
    assert dlgrade("report", str(out)).returncode == 0
    assert "smithjane_12345_500_mini.ipynb" in (out / "summary.html").read_text()


def test_a_hidden_test_fixed_after_grading_regrades_or_marks_the_stored_results_stale(mini, tmp_path):
    root = _course(mini, tmp_path)
    folder = tmp_path / "submissions"
    folder.mkdir()
    shutil.copy(mini[1].root / "reference.ipynb", folder / "ann.ipynb")
    out = tmp_path / "out"
    grade = ("--root", str(root), "grade", "mini", str(folder), "-o", str(out))
    first = dlgrade(*grade)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _rows(out / "gradebook.csv")["ann"]
    assert before["q1"] == "2" and before["stale"] == ""

    # The instructor changes q1's hidden test after the batch (it now wants float64 back, which the reference
    # does not give).
    test = root / "assignments" / "mini" / "hidden" / "q1_scale.py"
    test.write_text(test.read_text().replace("got.dtype == np.float32", "got.dtype == np.float64"))
    kept = dlgrade(*grade, "--keep-stale")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "kept 1 result(s) graded with an older bundle, marked stale: ann" in kept.stdout
    stale = _rows(out / "gradebook.csv")["ann"]
    assert (stale["q1"], stale["stale"], stale["bundle"]) == ("2", "yes", before["bundle"])
    assert "graded with an older bundle" in (out / "summary.html").read_text()

    again = dlgrade(*grade)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 submission(s) to grade" in again.stdout
    now = _rows(out / "gradebook.csv")["ann"]
    assert now["stale"] == "" and now["bundle"] != before["bundle"]
    assert now["q1"] != "2", "the result graded with the old test was kept"


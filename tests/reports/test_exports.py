"""Exports other programs read: Canvas's gradebook import, as Canvas's own export writes it."""

import csv
from pathlib import Path

import pytest
from test_roster import CANVAS_EXPORT, write

from autograder.batch.jobs import Job, identity_of
from autograder.reports.exports import write_canvas_import
from autograder.results import Identity
from autograder.roster import Roster


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_import(tmp_path):
    roster = Roster.load(write(tmp_path, CANVAS_EXPORT))
    jane, bob, ann, evil = (identity_of(Job(Path("x.ipynb"), e.student_id, "", entry=e)) for e in roster.entries[:4])
    out = tmp_path / "out" / "canvas.csv"
    write_canvas_import([(jane, "s1001", 12.5), (bob, "bjones", 16.0), (ann, "12347", 0.333333),
                         (evil, "s1004", None), (Identity(), "smithjohn_111", 7.0)], out, "A1 (1234)", 16)
    assert read_csv(out) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "A1 (1234)"],
        ["    Points Possible", "", "", "", "", "16"],
        ["Smith, Jane", "12345", "s1001", "jsmith", "Section A", "12.5"],
        ["Jones, Bob", "12346", "", "bjones", "Section B", "16"],  # the login is not an SIS User ID
        ["Lee, Ann", "12347", "", "", "Section A", "0.33"],
        ['="=Evil, Equals"', "12348", "s1004", "eevil", "Section A", ""],  # no score: Canvas leaves it
        ["smithjohn_111", "", "", "", "", "7"],  # unmatched: Canvas asks the instructor
    ]
    assert [p.name for p in out.parent.iterdir()] == ["canvas.csv"]  # no temporary file left behind


def test_canvas_import_rejects_what_canvas_would_misread(tmp_path):
    with pytest.raises(ValueError, match="'Final Score'.*A1 \\(1234\\)"):
        write_canvas_import([], tmp_path / "c.csv", "Final Score", 10)
    with pytest.raises(ValueError, match="'s1' appears twice"):
        write_canvas_import([(Identity(), "s1", 1.0), (Identity(), "s1", 2.0)], tmp_path / "c.csv", "A1", 10)
    assert not (tmp_path / "c.csv").exists()

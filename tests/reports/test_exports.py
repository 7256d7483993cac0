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
        ["'=Evil, Equals", "12348", "s1004", "eevil", "Section A", ""],  # a text, never a formula; no score
        ["smithjohn_111", "", "", "", "", "7"],  # unmatched: Canvas asks the instructor
    ]
    assert [p.name for p in out.parent.iterdir()] == ["canvas.csv"]  # no temporary file left behind


def test_canvas_import_rejects_what_canvas_would_misread(tmp_path):
    with pytest.raises(ValueError, match="'Final Score'.*A1 \\(1234\\)"):
        write_canvas_import([], tmp_path / "c.csv", "Final Score", 10)
    with pytest.raises(ValueError, match="'s1' appears twice"):
        write_canvas_import([(Identity(), "s1", 1.0), (Identity(), "s1", 2.0)], tmp_path / "c.csv", "A1", 10)
    assert not (tmp_path / "c.csv").exists()


FORMULAS = ["=HYPERLINK(\"http://x\", \"click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3",
            "\t=1+1", "\r=1+1", '=" & "', "-", "+"]


@pytest.mark.parametrize("name", FORMULAS)
def test_no_name_becomes_a_formula_in_either_export(tmp_path, name):
    from autograder.reports.exports import write_gradebook
    from autograder.results import GradingResult

    result = GradingResult(assignment="a1", student="s1", source="s1.ipynb", status="graded",
                           identity=Identity(name=name, canvas_id="777"))
    write_gradebook([result], tmp_path / "gradebook.csv")
    write_canvas_import([(result.identity, "s1", 12.5)], tmp_path / "canvas.csv", "A1", 16)
    gradebook = read_csv(tmp_path / "gradebook.csv")
    canvas = read_csv(tmp_path / "canvas.csv")
    assert gradebook[1][1] == canvas[2][0] == "'" + name  # shown as the text typed, run by no spreadsheet
    assert not any(cell[:1] in "=+-@\t\r" and cell not in ("-2", "") for row in gradebook + canvas for cell in row
                   if not _number(cell)), gradebook + canvas


def _number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_numbers_stay_numbers():
    from autograder.reports.exports import safe_cell

    assert [safe_cell(v) for v in (-2, 12.5, "-2", "-0.5", "1e-3", "-2+3", "=1")] == \
        [-2, 12.5, "-2", "-0.5", "1e-3", "'-2+3", "'=1"]


def test_one_canvas_row_per_canvas_id_and_a_warning_naming_the_others(tmp_path):
    jane = Identity(name="Smith, Jane", canvas_id="12345")
    warnings = write_canvas_import([(jane, "jane", 10.0), (jane, "jane-2", 4.0), (Identity(), "bob", 3.0)],
                                   tmp_path / "c.csv", "A1", 10)
    rows = read_csv(tmp_path / "c.csv")
    assert [r[1] for r in rows[2:]] == ["12345", ""]
    assert warnings == ["canvas_import.csv: jane-2 has the Canvas id 12345 of jane, whose row is written; "
                        "jane-2's is left out"]

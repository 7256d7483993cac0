"""Canvas file names, rosters and the Canvas import CSV: the right student, or an error naming the row."""

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from autograder import intake
from autograder.errors import RosterError
from autograder.roster import LmsName, Roster, RosterEntry, parse_lms_name, student_for

# -- LMS file names -------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("smithjane_12345_67890_a1.ipynb", LmsName("smithjane", "12345", "67890", False, "a1.ipynb")),
    ("smithjane_LATE_12345_67890_a1.ipynb", LmsName("smithjane", "12345", "67890", True, "a1.ipynb")),
    ("smithjane_12345_67890_a1-1.ipynb", LmsName("smithjane", "12345", "67890", False, "a1.ipynb")),
    ("smithjane_LATE_12345_67891_a1-2.ipynb", LmsName("smithjane", "12345", "67891", True, "a1.ipynb")),
    ("smithjane_12345_67890_my_a1_final.ipynb", LmsName("smithjane", "12345", "67890", False, "my_a1_final.ipynb")),
    ("smithjane_12345_67890_a1_2026_10_02T12_00_00.zip",
     LmsName("smithjane", "12345", "67890", False, "a1_2026_10_02T12_00_00.zip")),
    ("müllerjürgen_12345_67890_a1.ipynb", LmsName("müllerjürgen", "12345", "67890", False, "a1.ipynb")),
    ("obrien2pat_12_34_lab 1.ipynb", LmsName("obrien2pat", "12", "34", False, "lab 1.ipynb")),
    # Anonymous grading: no name, and the id is the anonymous id, not digits only.
    ("anon_k3J2h_67890_a1.ipynb", LmsName("anon_k3J2h", "", "67890", False, "a1.ipynb")),
    ("LATE_anon_12345_67890_a1.ipynb", LmsName("anon_12345", "", "67890", True, "a1.ipynb")),
    ("/downloads/sub/smithjane_1_2_a1.ipynb", LmsName("smithjane", "1", "2", False, "a1.ipynb")),
])
def test_canvas_names_are_parsed(name, expected):
    assert parse_lms_name(name) == expected


@pytest.mark.parametrize("name", [
    "alice.ipynb", "a1.ipynb", "Smithjane_12345_67890_a1.ipynb", "smith-jane_12345_67890_a1.ipynb",
    "smithjane_12345_a1.ipynb", "smithjane_x12_67890_a1.ipynb", "12345_67890_a1.ipynb",
    "smithjane_LATE_12345_a1.ipynb", "smithjane_12345_67890_", "Lab_1_2_x.ipynb",
])
def test_other_names_are_not_lms_names(name):
    assert parse_lms_name(name) is None


# -- loading a roster -----------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


SIMPLE = """
    Student_ID,Name,Canvas_ID,Login,Email,Section,Submitted_At,Notes
    s1001,"Smith, Jane",12345,jsmith,jane@uni.edu,A,2026-10-03T01:00:00+02:00,extra columns are ignored
    s1002,Bob Jones,,bjones,,B,,
    s1003,Ann Lee,,,,,2026-10-02T20:00:00Z,
"""

CANVAS_EXPORT = '''\
    \ufeffStudent,ID,SIS User ID,SIS Login ID,Section,A1 (1234),Current Score
    ,,,,,Manual Posting,
        Points Possible,,,,,16.00,(read only)
    "Smith, Jane",12345,s1001,jsmith,Section A,,0
    "Jones, Bob",12346,,bjones,Section B,,0
    "Lee, Ann",12347,,,Section A,,0
    "=""=Evil, Equals""",12348,s1004,eevil,Section A,,0
    "Student, Test",99999,,,Section A,,0
'''


def test_simple_roster(tmp_path):
    roster = Roster.load(write(tmp_path, SIMPLE))
    assert len(roster) == 3
    jane = roster.entries[0]
    assert jane == RosterEntry(student_id="s1001", name="Smith, Jane", canvas_id="12345", sis_login="jsmith",
                               section="A", email="jane@uni.edu",
                               submitted_at=dt.datetime(2026, 10, 2, 23, 0, tzinfo=dt.timezone.utc))
    assert roster.entries[1].submitted_at is None and roster.entries[1].canvas_id == ""
    assert roster.entries[2].submitted_at.tzinfo is not None


def test_canvas_gradebook_export_as_downloaded(tmp_path):
    roster = Roster.load(write(tmp_path, CANVAS_EXPORT))
    by_name = {e.name: e for e in roster.entries}
    assert "Points Possible" not in by_name and "" not in by_name
    assert by_name["Smith, Jane"] == RosterEntry("s1001", "Smith, Jane", "12345", "jsmith", "Section A")
    assert by_name["Jones, Bob"].student_id == "bjones"  # no SIS User ID: the login
    assert by_name["Lee, Ann"].student_id == "12347"  # neither: the Canvas ID
    assert by_name["=Evil, Equals"].student_id == "s1004"  # Canvas's ="..." guard undone
    assert by_name["Student, Test"].student_id == "99999"


def test_canvas_export_with_semicolons_and_first_last_names(tmp_path):
    roster = Roster.load(write(tmp_path, """
        LastName;FirstName;ID;SIS User ID;SIS Login ID;Section;A1 (1234)
            Points Possible;;;;;;16,00
        Smith;Jane;12345;s1001;jsmith;A;
    """))
    assert roster.entries == [RosterEntry("s1001", "Smith, Jane", "12345", "jsmith", "A")]


@pytest.mark.parametrize("text, row, column, words", [
    ("name,login\nJane,jsmith\n", 1, "student_id", "missing"),
    ("student_id,name\ns1,Jane\n,Bob\n", 3, "student_id", "empty"),
    ("student_id,name\ns1,Jane\ns2,Bob\ns1,Jane again\n", 4, "student_id", "duplicate student id 's1'"),
    ("student_id\nJane Doe\nJane_Doe\n", 3, "student_id", "as a folder name"),
    ("student_id\nS1\ns1\n", 3, "student_id", "ignoring case"),
    ("student_id,canvas_id\ns1,5\ns2,5\n", 3, "canvas_id", "duplicate Canvas id '5': row 2"),
    ("student_id,login\ns1,jsmith\ns2,JSmith\n", 3, "login", "duplicate login"),
    ("student_id,submitted_at\ns1,yesterday\n", 2, "submitted_at", "not an ISO-8601 time"),
    ("student_id,submitted_at\ns1,2026-10-02T23:59:00\n", 2, "submitted_at", "no time zone"),
    ("Student,ID,SIS User ID,SIS Login ID,Section\nJane,,,,A\n", 2, "ID", "names no student"),
    ("Student,ID,SIS User ID,SIS Login ID,Section\nJane,1,s1,,A\nJoe,2,s1,,A\n", 3, "SIS User ID", "duplicate"),
])
def test_bad_rosters_name_file_row_and_column(tmp_path, text, row, column, words):
    path = write(tmp_path, text)
    with pytest.raises(RosterError) as err:
        Roster.load(path)
    assert (err.value.row, err.value.column) == (row, column), err.value
    assert words in err.value.problem
    assert str(path) in str(err.value) and f"row {row}" in str(err.value) and repr(column) in str(err.value)


def test_empty_header_only_and_non_utf8_files(tmp_path):
    for text, words in [("", "empty"), ("  \n\n", "empty"), ("student_id,name\n", "no students")]:
        path = write(tmp_path, text)
        with pytest.raises(RosterError, match=words) as err:
            Roster.load(path)
        assert str(path) in str(err.value)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("student_id,name\ns1,Jane\ns2,Jürgen\n".encode("latin-1"))
    with pytest.raises(RosterError, match=r"latin1.csv: row 3: not UTF-8.*CSV UTF-8"):
        Roster.load(latin1)
    with pytest.raises(RosterError, match="cannot be read"):
        Roster.load(tmp_path / "missing.csv")


# -- matching files to students ---------------------------------------------------


@pytest.mark.parametrize("file, student", [
    ("smithjane_12345_67890_a1.ipynb", "s1001"),  # by Canvas user id
    ("whoever_LATE_12345_67891_a1-1.ipynb", "s1001"),  # the id decides, not the name
    ("jonesbob_55555_67892_a1.ipynb", None),  # unknown Canvas id, and the name is not a login
    ("bjones_55555_67892_a1.ipynb", "s1002"),  # the lastfirst part as a login
    ("JSmith.ipynb", "s1001"),  # the stem as a login, any case
    ("s1003.zip", "s1003"),  # the stem as a student id
    ("S1003.ipynb", "s1003"),
    ("alice.ipynb", None),
])
def test_match(tmp_path, file, student):
    roster = Roster.load(write(tmp_path, SIMPLE))
    entry = roster.match(Path(file))
    assert (entry.student_id if entry else None) == student


def test_student_for(tmp_path):
    roster = Roster.load(write(tmp_path, SIMPLE))
    ident, entry, lms = student_for(Path("smithjane_12345_67890_a1.ipynb"), roster)
    assert (ident, entry.name, lms.user_id) == ("s1001", "Smith, Jane", "12345")

    # Without a roster, one student's files share an id; two students of the same name do not.
    first, _, _ = student_for(Path("smithjohn_111_1_a1.ipynb"), None)
    again, _, lms = student_for(Path("smithjohn_LATE_111_2_a1-1.ipynb"), None)
    other, _, _ = student_for(Path("smithjohn_222_3_a1.ipynb"), None)
    assert first == again == "smithjohn_111" and lms.late and other == "smithjohn_222"
    assert student_for(Path("anon_k3J2h_67890_a1.ipynb"), None)[0] == "anon_k3J2h"

    assert student_for(Path("Alice Smith (1).ipynb"), roster) == (intake.student_id(Path("Alice Smith (1).ipynb")),
                                                                   None, None)


def test_student_for_makes_roster_ids_safe_folder_names(tmp_path):
    roster = Roster.load(write(tmp_path, "student_id,login\n../etc/passwd,evil\nJane Doe.2,jdoe\n"))
    assert student_for(Path("evil.ipynb"), roster)[0] == "etc_passwd"
    assert student_for(Path("jdoe.ipynb"), roster)[0] == "Jane_Doe.2"


# -- the Canvas import CSV ---------------------------------------------------------

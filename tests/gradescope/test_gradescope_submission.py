"""What Gradescope hands a grading run: the one file to grade in the upload, and who submitted it, as a roster."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile

import pytest
from support import ROOT

from autograder.gradescope.submission import choose, file_stem, read_metadata, write_roster
from autograder.roster import Roster, student_for

TEMPLATE = ROOT / "student_template" / "a1" / "a1.ipynb"


def _upload(folder, *names):
    folder.mkdir(exist_ok=True)
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".ipynb"):
            shutil.copy(TEMPLATE, path)
        else:
            path.write_text("not a notebook")
    return folder


def test_one_notebook_is_chosen_whatever_its_name_and_folder(tmp_path):
    upload = _upload(tmp_path / "submission", "work/My Submission (1).ipynb", "notes.txt", "plot.png",
                     ".ipynb_checkpoints/a1-checkpoint.ipynb", "__MACOSX/._a1.ipynb")
    choice = choose(upload, "a1.ipynb")
    assert choice.path == upload / "work" / "My Submission (1).ipynb" and not choice.problem


def test_a_link_is_never_read_even_to_a_notebook(tmp_path):
    """A zip Gradescope unpacks can hold a link: to the reference solution in /autograder/source, say."""
    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "a1.ipynb").symlink_to(TEMPLATE)
    choice = choose(upload, "a1.ipynb")
    assert choice.path is None and "holds no notebook: a1.ipynb (a link: not read)" in choice.problem
    shutil.copy(TEMPLATE, upload / "mine.ipynb")
    assert choose(upload, "a1.ipynb").path == upload / "mine.ipynb"


def test_an_export_zip_under_any_name_is_chosen(tmp_path):
    upload = tmp_path / "submission"
    upload.mkdir()
    with zipfile.ZipFile(upload / "download.ZIP", "w") as z:
        z.write(TEMPLATE, "a1.ipynb")
    assert choose(upload, "a1.ipynb").path == upload / "download.ZIP"


def test_one_broken_notebook_is_still_chosen_so_grading_says_what_is_wrong(tmp_path):
    upload = tmp_path / "submission"
    upload.mkdir()
    (upload / "a1.ipynb").write_text("{ not json")
    assert choose(upload, "a1.ipynb").path == upload / "a1.ipynb"


def test_of_several_the_one_that_reads_as_a_notebook_is_chosen_and_the_rest_named(tmp_path):
    upload = _upload(tmp_path / "submission", "a1.ipynb")
    (upload / "old.ipynb").write_text("")
    choice = choose(upload, "a1.ipynb")
    assert choice.path == upload / "a1.ipynb"
    assert choice.notes and "old.ipynb" in choice.notes[0] and "not graded" in choice.notes[0]


@pytest.mark.parametrize("names, says", [
    ((), "no files at all"),
    (("report.pdf", "a1.py"), "holds no notebook: a1.py, report.pdf"),
    (("a1.ipynb", "copy/a1 (2).ipynb"), "2 notebooks, and nothing tells which to grade: a1.ipynb, copy/a1 (2).ipynb"),
])
def test_nothing_or_too_much_to_grade_names_the_files_and_what_to_upload(tmp_path, names, says):
    upload = _upload(tmp_path / "submission", *names)
    if len(names) == 2 and names[1].endswith(".ipynb"):  # two notebooks that differ: a draft and a final
        shutil.copy(ROOT / "assignments" / "a1" / "examples" / "solution.ipynb", upload / names[1])
    choice = choose(upload, "a1.ipynb")
    assert choice.path is None
    assert says in choice.problem and "upload your a1.ipynb (or the zip that grader.export() made)" in choice.problem


def test_a_notebook_and_the_export_zip_made_of_it_are_one_submission(tmp_path):
    upload = _upload(tmp_path / "submission", "a1.ipynb")
    with zipfile.ZipFile(upload / "a1_2026_10_01T10_00_00_000000.zip", "w") as z:
        z.write(TEMPLATE, "a1.ipynb")
    choice = choose(upload, "a1.ipynb")
    assert choice.path == upload / "a1.ipynb"
    assert choice.notes == ("graded a1.ipynb; a1_2026_10_01T10_00_00_000000.zip holds the same notebook",)


def _write(tmp_path, data) -> object:
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps(data))
    return path


def test_metadata_gives_id_name_email_time_and_an_extension(tmp_path, make_metadata):
    data = make_metadata(assignment={"due_date": "2026-10-05T23:00:00-07:00"})
    who = read_metadata(_write(tmp_path, data))
    assert (who.student_id, who.name, who.email) == ("S-1234", "Jane Doe", "jane.doe@example.edu")
    assert who.submitted_at == dt.datetime.fromisoformat("2026-10-01T14:22:32.365935-07:00")
    assert who.due == dt.datetime.fromisoformat("2026-10-05T23:00:00-07:00") and not who.notes
    assert read_metadata(_write(tmp_path, make_metadata())).due is None  # the assignment's own deadline


@pytest.mark.parametrize("user, expected", [
    ({"sid": None}, "jane.doe@example.edu"),
    ({"sid": "", "email": ""}, "1234"),
    ({"sid": "  S-9  "}, "S-9"),
])
def test_the_student_id_is_the_sid_else_the_email_else_gradescopes_id(tmp_path, make_metadata, user, expected):
    assert read_metadata(_write(tmp_path, make_metadata(**user))).student_id == expected


def test_unusable_metadata_is_noted_or_read_as_none(tmp_path, make_metadata):
    data = make_metadata()
    data["created_at"] = "yesterday"
    data["users"].append({"name": "Ann Lee", "email": "ann@example.edu", "id": 5})
    who = read_metadata(_write(tmp_path, data))
    assert who.submitted_at is None and "created_at: 'yesterday' is not an ISO 8601 time" in who.notes[0]
    assert who.group == ("Ann Lee",)
    data["created_at"] = "2026-10-01T14:22:32"
    assert "has no time zone" in read_metadata(_write(tmp_path, data)).notes[0]
    assert read_metadata(tmp_path / "absent.json") is None
    assert read_metadata(_write(tmp_path, {"users": []})) is None
    (tmp_path / "submission_metadata.json").write_text("{ broken")
    assert read_metadata(tmp_path / "submission_metadata.json") is None


@pytest.mark.parametrize("sid", ["S-1234", "dept/2026/17", ".hidden", "jane.doe@example.edu"])
def test_the_roster_matches_the_copy_named_after_the_student(tmp_path, make_metadata, sid):
    who = read_metadata(_write(tmp_path, make_metadata(sid=sid,
                                                       assignment={"due_date": "2026-10-05T23:00:00-07:00"})))
    stem = file_stem(who.student_id)
    assert "/" not in stem and not stem.startswith(".")
    write_roster(who, stem, tmp_path / "roster.csv")
    roster = Roster.load(tmp_path / "roster.csv")
    ident, entry, _ = student_for(tmp_path / f"{stem}.ipynb", roster)
    assert entry is not None and entry.student_id == sid and entry.name == "Jane Doe"
    assert entry.submitted_at == who.submitted_at and entry.due == who.due and entry.email == who.email
    assert ident and "/" not in ident  # the student's results folder

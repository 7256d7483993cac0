"""Planning a batch and stamping its results, without kernels: ids, re-submissions, late penalties."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest

from autograder.batch.jobs import Job, annotate, plan
from autograder.late import LatePolicy
from autograder.results import GradingResult, Identity, QuestionResult, TestResult
from autograder.roster import Roster, parse_lms_name
from autograder.store import Store, file_hash

ZONE = dt.timezone(dt.timedelta(hours=2))
DEADLINE = dt.datetime(2026, 10, 2, 23, 59, tzinfo=ZONE)


def files(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name in names:
        (folder / name).write_text(name)  # distinct bytes, distinct hashes
        paths.append(folder / name)
    return paths


def test_canvas_names_and_a_roster_give_student_ids_and_the_newest_resubmission(tmp_path):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(textwrap.dedent("""\
        student_id,name,canvas_id,submitted_at
        s001,Jane Smith,12345,2026-10-03T10:00:00+02:00
    """))
    given = files(tmp_path / "subs", "smithjane_12345_500_a1.ipynb", "smithjane_LATE_12345_501_a1-1.ipynb",
                  "doejohn_777_600_a1.ipynb", "alice.ipynb", "alice.zip")
    logged = []
    with Store(tmp_path / "gradebook.sqlite") as store:
        planned = plan(given, store, roster=Roster.load(roster_csv), log=logged.append)
    by_id = {j.student: j for j in planned.jobs}
    assert sorted(by_id) == ["doejohn_777", "s001"]
    assert by_id["s001"].path.name == "smithjane_LATE_12345_501_a1-1.ipynb"  # the newer of the two
    assert by_id["s001"].entry.name == "Jane Smith" and by_id["s001"].lms.late
    assert any("superseded" in line and "smithjane_12345_500_a1.ipynb" in line for line in logged)
    assert planned.kept == []
    # Every file is accounted for: the older Canvas upload superseded, alice's two files refused (nothing
    # tells which is hers), each with a reason naming the other.
    aside = {(i.path.name, i.outcome.value) for i in planned.set_aside}
    assert aside == {("smithjane_12345_500_a1.ipynb", "superseded"), ("alice.ipynb", "refused"),
                     ("alice.zip", "refused")}
    refused = planned.refused()["alice"]
    assert all("alice.ipynb" in i.reason and "alice.zip" in i.reason for i in refused)


def test_otter_export_names_are_students_of_their_own_not_a_canvas_id(tmp_path):
    """Three students' grader.export() zips under Otter's own names, collected outside Canvas."""
    names = ("a1_2026_11_30T23_59_59_333333.zip", "a1_2026_12_01T09_15_02_111111.zip",
             "a1_2026_12_01T10_00_00_000000.zip")
    assert all(parse_lms_name(n) is None for n in names)
    with Store(tmp_path / "gradebook.sqlite") as store:
        planned = plan(files(tmp_path / "subs", *names), store)
    assert sorted(j.path.name for j in planned.jobs) == sorted(names)
    assert len({j.student for j in planned.jobs}) == 3 and not planned.set_aside
    assert all(j.lms is None for j in planned.jobs)
    # A Canvas download of such a zip is still Canvas's: the export's whole name follows the ids.
    canvas = parse_lms_name("smithjane_12345_67890_a1_2026_11_30T23_59_59_333333.zip")
    assert canvas is not None and canvas.user_id == "12345"
    assert canvas.original_name == "a1_2026_11_30T23_59_59_333333.zip"


def test_results_graded_with_another_bundle_are_graded_again_or_kept_as_stale(tmp_path):
    given = files(tmp_path / "subs", "ann.ipynb", "ben.ipynb")
    with Store(tmp_path / "gradebook.sqlite") as store:
        for f in given:
            result = _result(f.stem, 1.0)
            result.bundle = "old"
            store.put(result, file_hash(f))
        assert plan(given, store, bundle="old").kept == ["ann", "ben"]
        fixed = plan(given, store, bundle="new")
        assert [j.student for j in fixed.jobs] == ["ann", "ben"] and fixed.kept == []
        assert all(j.bundle == "new" for j in fixed.jobs)
        kept = plan(given, store, bundle="new", keep_stale=True)
        assert kept.jobs == [] and kept.stale == ["ann", "ben"]


def test_unchanged_files_are_kept_and_regrade_and_force_redo_them(tmp_path):
    given = files(tmp_path / "subs", "ann.ipynb", "ben.ipynb")
    with Store(tmp_path / "gradebook.sqlite") as store:
        for f in given:
            store.put(_result(f.stem, 1.0), file_hash(f))
        planned = plan(given, store)
        assert (planned.jobs, sorted(planned.kept)) == ([], ["ann", "ben"])
        planned = plan(given, store, regrade=("ben",))
        assert [j.student for j in planned.jobs] == ["ben"] and planned.kept == ["ann"]
        planned = plan(given, store, force=True)
        assert [j.student for j in planned.jobs] == ["ann", "ben"] and planned.kept == []
        (tmp_path / "subs" / "ann.ipynb").write_text("changed")
        assert [j.student for j in plan(given, store).jobs] == ["ann"]
        with pytest.raises(ValueError, match="--regrade zed: no such student"):
            plan(given, store, regrade=("zed",))


class _Spec:
    late = LatePolicy(deadline=DEADLINE, grace_minutes=15, per_day_percent=10, max_percent=50)


def _result(student: str, score: float, submitted_at: str | None = None, source: str = "file") -> GradingResult:
    test = TestResult("q1", "t", score, 10, "passed" if score else "failed", True)
    q = QuestionResult("q1", "one", score, 10, "visible", [test])
    return GradingResult(assignment="a9", student=student, source=f"{student}.ipynb", status="graded",
                         questions=[q], submitted_at=submitted_at, time_source=source)


def test_the_roster_time_decides_the_late_penalty(tmp_path):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name,submitted_at\nann,Ann Lee,2026-10-04T08:00:00+02:00\n")
    entry = Roster.load(roster_csv).entries[0]
    job = Job(Path("ann.ipynb"), "ann", "x", entry=entry)
    result = annotate(_result("ann", 10, "2026-09-01T00:00:00+00:00"), job, _Spec())
    assert result.late.time_source == "roster" and result.late.penalty_percent == 20
    assert (result.score, result.penalty, result.final_score) == (10, 2, 8)
    assert result.identity == Identity(name="Ann Lee", on_roster=True)
    assert result.to_gradescope()["score"] == 8
    assert "raw 10, late penalty -2" in result.summary_line()


class _TrustingSpec:
    late = dataclasses.replace(_Spec.late, trust_file_times=True)


def test_a_zips_own_dates_count_only_where_the_instructor_trusts_them():
    """The same work in an export zip dated after the cutoff, and with its dates set back to 1980."""
    for stamp in ("2026-10-20T12:00:00", "1980-01-01T00:00:00"):
        untrusted = annotate(_result("a", 10, stamp, "zip"), Job(Path("a.zip"), "a", "x"), _Spec())
        assert untrusted.penalty == 0 and untrusted.late.time_source == "unknown"  # flagged, not "on time"
        assert untrusted.late.submitted_at is None and "no trustworthy submission time" in untrusted.late.note


def test_trusted_zip_times_are_read_in_the_deadlines_zone_and_file_times_are_not_trusted():
    on_time_zip = annotate(_result("a", 10, "2026-10-02T23:00:00", "zip"), Job(Path("a.zip"), "a", "x"),
                           _TrustingSpec())
    assert on_time_zip.late.time_source == "zip" and on_time_zip.penalty == 0
    late_zip = annotate(_result("b", 10, "2026-10-03T01:00:00", "zip"), Job(Path("b.zip"), "b", "x"),
                        _TrustingSpec())
    assert late_zip.late.penalty_percent == 10
    lms = parse_lms_name("smithjane_LATE_12345_501_a1.ipynb")
    downloaded = annotate(_result("c", 10, "2026-11-01T00:00:00+00:00", "file"),
                          Job(Path("c.ipynb"), "c", "x", lms=lms), _Spec())
    assert downloaded.penalty == 0 and downloaded.late.time_source == "unknown"
    assert "marks this submission LATE" in downloaded.late.note
    assert downloaded.identity == Identity(canvas_id="12345", lms_late=True)


def test_without_a_late_policy_nothing_is_late():
    class NoLate:
        late = None

    result = annotate(_result("a", 10, "2030-01-01T00:00:00+00:00"), Job(Path("a.ipynb"), "a", "x"), NoLate())
    assert result.late is None and result.final_score == 10


def test_a_students_files_are_written_once_with_what_the_batch_adds(mini, tmp_path, monkeypatch):
    """The worker writes results.json and feedback.html already annotated; the batch need not write them again."""
    from autograder import batch
    from autograder.batch import pool, worker
    from autograder.grading import notebook

    _, bundle = mini
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "ann.ipynb").write_text("{not json")  # rejected at intake: no kernel needed
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name\nann,Ann Lee\n")
    writes = []
    real = notebook.write_student_files

    def counting(result, out, executed=None):
        writes.append(result.student)
        return real(result, out, executed)

    for module in (notebook, pool, worker):
        monkeypatch.setattr(module, "write_student_files", counting)
    report = batch.run(bundle, [folder / "ann.ipynb"], tmp_path / "out", batch.GradeOptions(workers=1),
                       roster=Roster.load(roster_csv))
    assert [r.status for r in report.results] == ["rejected"]
    assert writes == ["ann"]
    data = json.loads((tmp_path / "out" / "ann" / "results.json").read_text())
    assert data["extra_data"]["identity"]["name"] == "Ann Lee"
    assert report.results[0].identity == Identity(name="Ann Lee", on_roster=True)  # and the store has it too


def test_a_roster_extension_moves_that_students_deadline_and_the_gradebook_shows_it(tmp_path):
    from autograder.reports.exports import write_gradebook

    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name,submitted_at,extension_days,due\n"
                          "ann,Ann Lee,2026-10-04T08:00:00+02:00,3,\n"
                          "ben,Ben Ng,2026-10-04T08:00:00+02:00,,2026-10-04T09:00:00+02:00\n"
                          "cat,Cat Ito,2026-10-04T08:00:00+02:00,,\n")
    entries = {e.student_id: e for e in Roster.load(roster_csv).entries}
    results = {who: annotate(_result(who, 10), Job(Path(f"{who}.ipynb"), who, "x", entry=entries[who]), _Spec())
               for who in entries}
    assert results["ann"].penalty == 0 and results["ann"].late.extended
    assert results["ann"].late.due == "2026-10-05T23:59:00+02:00" and "extension" in results["ann"].late.note
    assert results["ben"].penalty == 0 and results["ben"].late.due == "2026-10-04T09:00:00+02:00"
    assert results["cat"].late.penalty_percent == 20 and not results["cat"].late.extended  # the spec's deadline
    rows = {r["student"]: r for r in csv.DictReader(write_gradebook(list(results.values()),
                                                                    tmp_path / "gradebook.csv").open())}
    assert (rows["ann"]["due"], rows["ann"]["extended"]) == ("2026-10-05T23:59:00+02:00", "yes")
    assert (rows["cat"]["due"], rows["cat"]["extended"]) == ("2026-10-02T23:59:00+02:00", "")


@pytest.mark.parametrize("cells, column, problem", [
    ("3,2026-10-04T09:00:00+02:00", "extension_days", "given with due as well"),
    ("1e9,", "extension_days", "0 to 366 days"),
    ("soon,", "extension_days", "not a number of days"),
    ("-1,", "extension_days", "0 to 366 days"),
    (",2026-10-04T09:00:00", "due", "no time zone"),
])
def test_a_bad_extension_is_named_by_row_and_column(tmp_path, cells, column, problem):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(f"student_id,extension_days,due\nann,{cells}\n")
    with pytest.raises(ValueError, match=rf"row 2, column '{column}'.*{problem}"):
        Roster.load(roster_csv)


def test_ids_keep_every_script_and_ids_that_differ_only_in_case_are_one_student(tmp_path):
    with Store(tmp_path / "gradebook.sqlite") as store:
        planned = plan(files(tmp_path / "subs", "jörg.ipynb", "jérg.ipynb", "Carol.ipynb", "carol.ipynb"), store)
    assert sorted(j.student for j in planned.jobs) == ["jérg", "jörg"]
    assert {(i.path.name, i.outcome.value) for i in planned.set_aside} == {("Carol.ipynb", "refused"),
                                                                            ("carol.ipynb", "refused")}


def test_two_files_the_roster_gives_one_student_are_refused_as_that_student(tmp_path):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name,canvas_id,login\ns1,Jane Doe,1001,jdoe\n")
    with Store(tmp_path / "gradebook.sqlite") as store:
        planned = plan(files(tmp_path / "subs", "doejane_1001_5001_mini.ipynb", "jdoe.zip"), store,
                       roster=Roster.load(roster_csv))
    refused = planned.refused()["s1"]
    assert len(refused) == 2 and all("the roster says they are all this student's" in i.reason for i in refused)
    assert refused[0].who.name == "Jane Doe" and refused[0].who.canvas_id == "1001"


def test_a_folder_gives_its_notebooks_and_zips_in_any_case_and_names_what_else_it_holds(tmp_path):
    from autograder import api, intake

    folder = tmp_path / "subs"
    files(folder, "Bob.IPYNB", "dave.ZIP", "notes.txt", ".hidden.ipynb")
    (folder / "section2").mkdir()
    skipped: list[str] = []
    found = api.submissions_in([folder], skipped)
    assert [f.name for f in found] == ["Bob.IPYNB", "dave.ZIP"]
    assert sorted(line.split(": ", 1)[1] for line in skipped) == [
        "a folder, not searched (give it as an argument of its own)", "neither a .ipynb notebook nor a .zip"]
    (folder / "Bob.IPYNB").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    assert intake.load(folder / "Bob.IPYNB", "mini.ipynb").student == "Bob"


def test_only_a_rosters_id_is_written_as_an_sis_user_id(tmp_path):
    from autograder.reports.exports import write_canvas_import

    rows = [(Identity(canvas_id="1001"), "doejane_1001", 7.0),
            (Identity(name="Ann Lee", canvas_id="1002", on_roster=True), "s002", 6.0)]
    write_canvas_import(rows, tmp_path / "canvas.csv", "A1 (1)", 7)
    with (tmp_path / "canvas.csv").open(newline="") as f:
        written = {row["ID"]: row for row in csv.DictReader(f) if row["ID"]}
    assert written["1001"]["SIS User ID"] == "" and written["1002"]["SIS User ID"] == "s002"


def test_the_roster_says_who_handed_nothing_in(tmp_path):
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name\ns1,Ann Lee\nS2,Ben Ng\ns3,Cat Ito\n")
    assert [e.name for e in Roster.load(roster_csv).without({"s1", "s2"})] == ["Cat Ito"]


def test_a_file_given_again_under_another_id_replaces_its_old_result_and_identical_files_stay_two(mini, tmp_path):
    """A roster given after a batch names ann's file s9's; ben handed in the same bytes as cat (the untouched
    template) and only cat is given again: ann's row goes, ben's stays."""
    from autograder.batch import runner
    from autograder.batch.options import BatchEvents

    subs = tmp_path / "subs"
    ann, cat = files(subs, "ann.ipynb", "cat.ipynb")
    ben = subs / "ben.ipynb"
    ben.write_text(cat.read_text())
    out = tmp_path / "out"
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text("student_id,name,login\ns9,Ann Lee,ann\ns10,Dan Wu,dan\n")
    logged: list[str] = []
    with Store(out / "gradebook.sqlite") as store:
        for f in (ann, ben):
            store.put(dataclasses.replace(_result(f.stem, 1.0), source=str(f)), file_hash(f))
        (out / "ann").mkdir(parents=True)
        planned = plan([ann, cat], store, roster=Roster.load(roster_csv))
        runner._settle(store, planned, mini[1], out, BatchEvents(log=logged.append), Roster.load(roster_csv))
        assert [s for s, _, _ in store.files()] == ["ben"]
    assert not (out / "ann").exists()
    assert any("ann: its file (ann.ipynb) is now graded as s9" in line for line in logged)
    assert any("on the roster with no file: 1 (s10 Dan Wu)" in line for line in logged)


def test_a_roster_given_later_applies_to_kept_results_and_overrides_follow_their_student(tmp_path):
    """Graded without a roster, then run again with one: nothing is graded again, but the kept results take the
    roster's names, times and so late penalties; a TA's override follows a file the roster now names."""
    from autograder.batch.options import BatchEvents
    from autograder.batch.runner import _refresh, _settle
    from autograder.results import Override

    given = files(tmp_path / "subs", "ann.ipynb", "bo.ipynb")
    logged: list[str] = []
    with Store(tmp_path / "gradebook.sqlite") as store:
        for path in given:
            store.put(dataclasses.replace(_result(path.stem, 10), source=str(path)), file_hash(path))
        store.put_override("bo", Override("q1", "", 7, "partial credit", "ta", "2026-10-05T10:00:00.000Z"))
        roster_csv = tmp_path / "roster.csv"
        roster_csv.write_text("student_id,name,login,submitted_at\n"
                              "ann,Ann Lee,ann,2026-10-04T08:00:00+02:00\n"
                              "s-bo,Bo Park,bo,2026-10-01T08:00:00+02:00\n")
        roster = Roster.load(roster_csv)
        planned = plan(given, store, roster=roster, bundle="")
        assert planned.kept == ["ann"] and [j.student for j in planned.jobs] == ["s-bo"]
        bundle = type("B", (), {"spec": _Spec(), "digest": ""})()
        _settle(store, planned, bundle, tmp_path / "out", BatchEvents(log=logged.append), roster)
        _refresh(store, planned.kept_jobs, _Spec(), tmp_path / "out", BatchEvents(log=logged.append))
        ann = store.results()[0]
        assert ann.identity.name == "Ann Lee" and ann.late.time_source == "roster" and ann.penalty == 2
        assert any("kept, with the roster's names, times or deadlines as they are now: 1 (ann)" in line
                   for line in logged)
        assert [o.target for o in store.overrides("s-bo")] == ["q1"] and store.overrides("bo") == []
        assert any("its 1 score(s) set by hand go with it" in line for line in logged), logged
        # Handed in again as ANN.ipynb (the same bytes): still the student the store knows, in its case.
        (tmp_path / "subs" / "ann.ipynb").rename(tmp_path / "subs" / "ANN.ipynb")
        assert plan([tmp_path / "subs" / "ANN.ipynb"], store).kept == ["ann"]

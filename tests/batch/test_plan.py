"""Planning a batch and stamping its results, without kernels: ids, re-submissions, late penalties."""

from __future__ import annotations

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
        jobs, kept = plan(given, store, roster=Roster.load(roster_csv), log=logged.append)
    by_id = {j.student: j for j in jobs}
    assert sorted(by_id) == ["alice", "alice-2", "doejohn_777", "s001"]
    assert by_id["s001"].path.name == "smithjane_LATE_12345_501_a1-1.ipynb"  # the newer of the two
    assert by_id["s001"].entry.name == "Jane Smith" and by_id["s001"].lms.late
    assert any("superseded" in line and "smithjane_12345_500_a1.ipynb" in line for line in logged)
    assert kept == []


def test_unchanged_files_are_kept_and_regrade_and_force_redo_them(tmp_path):
    given = files(tmp_path / "subs", "ann.ipynb", "ben.ipynb")
    with Store(tmp_path / "gradebook.sqlite") as store:
        for f in given:
            store.put(_result(f.stem, 1.0), file_hash(f))
        jobs, kept = plan(given, store)
        assert (jobs, sorted(kept)) == ([], ["ann", "ben"])
        jobs, kept = plan(given, store, regrade=("ben",))
        assert [j.student for j in jobs] == ["ben"] and kept == ["ann"]
        jobs, kept = plan(given, store, force=True)
        assert [j.student for j in jobs] == ["ann", "ben"] and kept == []
        (tmp_path / "subs" / "ann.ipynb").write_text("changed")
        jobs, _ = plan(given, store)
        assert [j.student for j in jobs] == ["ann"]
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
    assert result.identity == Identity(name="Ann Lee")
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
    assert report.results[0].identity == Identity(name="Ann Lee")  # and the store has it too

"""A batch's jobs: which files to grade and as whom (``plan``), and what a result learns from its job (``annotate``).

A stored result for the same student and the same file bytes (sha256) is
kept; ``force`` and ``regrade`` redo work on purpose. Identity comes from the
roster, the LMS's file name or the file name (``roster.student_for``); the
late penalty from the spec's policy and the submission's time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from autograder.errors import UsageError
from autograder.late import submission_time
from autograder.results import GradingResult, Identity, LatePenalty, ResultStatus, TimeSource
from autograder.roster import LmsName, Roster, RosterEntry, student_for
from autograder.spec import Assignment
from autograder.store import Store, file_hash


@dataclasses.dataclass
class Job:
    """One file to grade, as whom, and what the roster and the LMS's file name say of it."""

    path: Path
    student: str
    sha256: str
    entry: RosterEntry | None = None  # the student's row in the roster
    lms: LmsName | None = None  # what an LMS download's file name says
    attempts: int = 0  # grading processes that died on it so far


def plan(files: list[Path], store: Store, student: str | None = None, force: bool = False,
         regrade: tuple[str, ...] = (), roster: Roster | None = None,
         log: Callable[[str], None] = lambda line: None) -> tuple[list[Job], list[str]]:
    """The jobs to run, and the students whose stored results are kept.

    Ids come from the roster, the LMS's file name or the file name (see
    ``roster.student_for``). Of one student's several LMS files (Canvas's
    ``-1``, ``-2`` re-submissions) the newest is graded; two plain files
    that map to one id (alice.ipynb, alice.zip) are both graded, as alice and
    alice-2, so that neither result overwrites the other. Raises
    ``UsageError`` for a ``regrade`` that names no student given.
    """
    candidates: dict[str, list[Job]] = {}
    for f in files:
        ident, entry, lms = student_for(f, roster)
        ident = student or ident
        candidates.setdefault(ident, []).append(Job(f, ident, "", entry, lms))
    chosen: list[Job] = []
    for ident, group in candidates.items():
        if len(group) > 1 and all(job.lms for job in group):
            group.sort(key=lambda job: int(job.lms.submission_id or 0) if job.lms else 0)
            for older in group[:-1]:
                log(f"{ident}: {older.path.name} is superseded by {group[-1].path.name}; grading the newer one")
            group = group[-1:]
        for n, job in enumerate(group, start=1):
            if n > 1:
                job.student = f"{ident}-{n}"
            chosen.append(job)
    jobs, kept = [], []
    for job in chosen:
        job.sha256 = file_hash(job.path)
        if not force and job.student not in regrade and store.current(job.student, job.sha256):
            kept.append(job.student)
        else:
            jobs.append(job)
    unknown = set(regrade) - {j.student for j in jobs} - set(kept)
    if unknown:
        raise UsageError(f"--regrade {', '.join(sorted(unknown))}: no such student among the submissions given")
    return jobs, kept


def identity_of(job: Job) -> Identity:
    """Who the student of a job is, from the roster's row and the LMS's file name."""
    who = Identity()
    if job.entry is not None:
        who = Identity(name=job.entry.name, canvas_id=job.entry.canvas_id, sis_login=job.entry.sis_login,
                       section=job.entry.section, email=job.entry.email)
    if job.lms is not None:
        who.canvas_id = who.canvas_id or job.lms.user_id
        who.lms_late = job.lms.late
    return who


def annotate(result: GradingResult, job: Job, spec: Assignment) -> GradingResult:
    """The result with who the student is and, where the spec has a deadline, its late penalty.

    A plain function of the result, the job and the spec, applied once to
    each result before its files are written.
    """
    result.identity = identity_of(job)
    policy = spec.late
    if policy is None or result.status != ResultStatus.GRADED:
        return result
    # A time from inside a file the student made (an export zip's member dates, a file's mtime) is the
    # student's to set: it counts only where the instructor says the files' times can be trusted.
    stamp = dt.datetime.fromisoformat(result.submitted_at) if result.submitted_at else None
    trusted = stamp if policy.trust_file_times else None
    zip_time = trusted if result.time_source == TimeSource.ZIP else None
    if zip_time is not None and zip_time.tzinfo is None:  # zips keep local time: the course's, the deadline's
        zip_time = zip_time.replace(tzinfo=policy.deadline.tzinfo)
    file_time = trusted if result.time_source == TimeSource.FILE else None
    when, source = submission_time(job.entry.submitted_at if job.entry else None, zip_time, file_time)
    assessment = policy.assess(when, result.score)
    note = assessment.note
    if when is None:
        note = ("no trustworthy submission time (a file's own times, an export zip's included, are the "
                "student's to set): no late penalty; give a roster with submitted_at (the LMS's record) to "
                "apply the late policy")
        if job.lms is not None and job.lms.late:
            note = "the LMS marks this submission LATE, but its time is unknown: " + note
    result.late = LatePenalty(submitted_at=when.isoformat() if when else None, time_source=source,
                              hours_late=round(assessment.hours_late, 3),
                              penalty_percent=assessment.penalty_percent,
                              penalty_points=round(assessment.penalty_points, 6), note=note)
    return result

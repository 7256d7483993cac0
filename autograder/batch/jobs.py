"""A batch's jobs: which files to grade and as whom (``plan``), and what a result learns from its job (``annotate``).

A stored result for the same student, the same file bytes (sha256) and the
same bundle is kept; ``force`` and ``regrade`` redo work on purpose. Identity comes from the
roster, the LMS's file name or the file name (``roster.student_for``); the
late penalty from the spec's policy and the submission's time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable
from pathlib import Path

from autograder.errors import UsageError
from autograder.late import LatePolicy, submission_time
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
    bundle: str = ""  # the digest of the bundle it is graded with


class Outcome(enum.StrEnum):
    """Why a batch does not grade a file it was given."""

    SUPERSEDED = "superseded"  # a newer file of the same student (by Canvas's name or the roster) is graded
    REFUSED = "refused"  # files that name one student, and nothing tells which one counts


@dataclasses.dataclass(frozen=True)
class SetAside:
    """A file the batch was given and does not grade, the student it names, and why (in words)."""

    path: Path
    student: str
    outcome: Outcome
    reason: str
    who: Identity = dataclasses.field(default_factory=Identity)  # as the roster and Canvas's name tell


@dataclasses.dataclass
class Plan:
    """What a batch does with every file it was given: grade it (``jobs``), keep its stored result (``kept``,
    by student) or set it aside (``set_aside``: superseded or refused, each with its reason)."""

    jobs: list[Job]
    kept: list[str]
    kept_jobs: list[Job] = dataclasses.field(default_factory=list)  # the files whose stored results are kept
    set_aside: list[SetAside] = dataclasses.field(default_factory=list)
    stale: list[str] = dataclasses.field(default_factory=list)  # kept, though graded with an older bundle
    regraded: list[str] = dataclasses.field(default_factory=list)  # graded again: stored with an older bundle
    #: Whose each file given is, by sha256 and by path (see ``batch.runner``: a stored result of such a file
    #: under another id is one of the past, the file renamed or its student now named by a roster).
    owners: dict[str, set[str]] = dataclasses.field(default_factory=dict)

    def refused(self) -> dict[str, list[SetAside]]:
        """The refused files by the student they name."""
        out: dict[str, list[SetAside]] = {}
        for item in self.set_aside:
            if item.outcome == Outcome.REFUSED:
                out.setdefault(item.student, []).append(item)
        return out


def plan(files: list[Path], store: Store, student: str | None = None, force: bool = False,
         regrade: tuple[str, ...] = (), roster: Roster | None = None, bundle: str = "", keep_stale: bool = False,
         log: Callable[[str], None] = lambda line: None) -> Plan:
    """What to grade, keep and set aside, and as whom.

    Ids come from the roster, the LMS's file name or the file name (see
    ``roster.student_for``). Of one student's several Canvas files (Canvas's
    ``-1``, ``-2`` re-submissions, or files the roster matches to one student)
    the newest by Canvas's attachment id is graded and the others are
    superseded. Files that name one student where nothing tells which counts
    (``alice.ipynb`` and ``alice.zip``; a roster match without Canvas's
    order) are all refused, with a reason naming the others: never merged,
    never graded under invented ids. A stored result is kept when it is for
    the same file (sha256) and was graded with the same ``bundle`` (digest);
    one graded with another bundle is graded again, or with ``keep_stale``
    kept and listed in ``stale``. Raises ``UsageError`` for a ``regrade``
    that names no student given.
    """
    candidates: dict[str, list[Job]] = {}
    # An id already stored in another case (amara.ipynb handed in again as AMARA.ipynb) keeps its stored case.
    stored_ids = {s.casefold(): s for s, _, _ in store.files()}
    for f in files:
        ident, entry, lms = student_for(f, roster)
        ident = student or ident
        ident = stored_ids.get(ident.casefold(), ident)
        if roster is not None and entry is None:
            log(f"{ident}: {f.name} matches no one on the roster (by Canvas id, login or student id); "
                "graded under this id")
        # Ids that differ only in case are one folder on macOS and Windows: one student, as the roster has it.
        candidates.setdefault(ident.casefold(), []).append(Job(f, ident, "", entry, lms, bundle=bundle))
    chosen, set_aside = _one_file_each(candidates, log)
    planned = Plan([], [], set_aside=set_aside)
    for job in chosen:
        _grade_or_keep(planned, job, store, force or job.student in regrade, bundle, keep_stale)
    for item in set_aside:
        planned.owners.setdefault(str(item.path), set()).add(item.student)
    given = {j.student for j in planned.jobs} | set(planned.kept) | {item.student for item in set_aside}
    unknown = set(regrade) - given
    if unknown:
        raise UsageError(f"--regrade {', '.join(sorted(unknown))}: no such student among the submissions given")
    if planned.regraded:
        log(f"graded with an older bundle (its hidden tests or spec changed since): grading again "
            f"{', '.join(planned.regraded[:5])}{'…' if len(planned.regraded) > 5 else ''} (--keep-stale keeps them)")
    return planned


def _grade_or_keep(planned: Plan, job: Job, store: Store, redo: bool, bundle: str, keep_stale: bool) -> None:
    """``job`` into the plan's jobs, or its stored result kept (stale where another bundle graded it)."""
    job.sha256 = file_hash(job.path)
    for key in (job.sha256, str(job.path)):
        planned.owners.setdefault(key, set()).add(job.student)
    stored = None if redo else store.current(job.student, job.sha256)
    if stored is not None and (stored == bundle or keep_stale):
        planned.kept.append(job.student)
        planned.kept_jobs.append(job)
        if stored != bundle:
            planned.stale.append(job.student)
        return
    if stored is not None:
        planned.regraded.append(job.student)
    planned.jobs.append(job)


def _one_file_each(candidates: dict[str, list[Job]],
                   log: Callable[[str], None]) -> tuple[list[Job], list[SetAside]]:
    """One job per student: Canvas's newest of several uploads, else each file alone; the rest set aside."""
    chosen: list[Job] = []
    set_aside: list[SetAside] = []
    for group in candidates.values():
        ident = group[0].student
        if len(group) > 1 and all(job.lms for job in group):
            group.sort(key=lambda job: int(job.lms.submission_id or 0) if job.lms else 0)
            for older in group[:-1]:
                set_aside.append(SetAside(older.path, ident, Outcome.SUPERSEDED,
                                          f"superseded by {group[-1].path.name}, the newer upload of the same "
                                          "Canvas student"))
                log(f"{ident}: {older.path.name} is superseded by {group[-1].path.name}; grading the newer one")
            group = group[-1:]
        if len(group) > 1:
            names = sorted(job.path.name for job in group)
            same = group[0].entry is not None and all(job.entry == group[0].entry for job in group)
            why = ("the roster says they are all this student's, and nothing tells which came last" if same else
                   "nothing tells which counts (give a roster that tells the students apart)")
            for job in group:
                others = ", ".join(n for n in names if n != job.path.name)
                set_aside.append(SetAside(job.path, ident, Outcome.REFUSED,
                                          f"{job.path.name} and {others} all name student {ident}; {why}: remove "
                                          "all but one and grade again", identity_of(job)))
            log(f"{ident}: refused {', '.join(names)}: several files name this student")
            continue
        chosen.extend(group)
    return chosen, set_aside


def refusal(student: str, items: list[SetAside], spec: Assignment, bundle: str) -> GradingResult:
    """The gradebook's row for a student whose files were all refused: every question at 0, and the reason."""
    return GradingResult.assemble(spec, [], {}, student=student, status=ResultStatus.REJECTED,
                                  source=", ".join(sorted(i.path.name for i in items)), message=items[0].reason,
                                  bundle=bundle, identity=items[0].who)


def identity_of(job: Job) -> Identity:
    """Who the student of a job is, from the roster's row and the LMS's file name."""
    who = Identity()
    if job.entry is not None:
        who = Identity(name=job.entry.name, canvas_id=job.entry.canvas_id, sis_login=job.entry.sis_login,
                       section=job.entry.section, email=job.entry.email, on_roster=True)
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
    result.bundle = job.bundle or result.bundle
    policy = spec.late
    if policy is None or result.status != ResultStatus.GRADED:
        return result
    policy, extended = deadline_for(policy, job.entry)
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
    if extended:
        note = f"{note} (due {policy.deadline.isoformat()}, this student's extension)"
    result.late = LatePenalty(submitted_at=when.isoformat() if when else None, time_source=source,
                              hours_late=round(assessment.hours_late, 3),
                              penalty_percent=assessment.penalty_percent,
                              penalty_points=round(assessment.penalty_points, 6), note=note,
                              due=policy.deadline.isoformat(), extended=extended)
    return result


def deadline_for(policy: LatePolicy, entry: RosterEntry | None) -> tuple[LatePolicy, bool]:
    """The policy with this student's deadline: the roster's ``due``, else the spec's plus ``extension_days``;
    and whether it moved."""
    if entry is None or (entry.due is None and not entry.extension_days):
        return policy, False
    due = entry.due or policy.deadline + dt.timedelta(days=entry.extension_days or 0.0)
    return dataclasses.replace(policy, deadline=due), True

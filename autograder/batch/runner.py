"""A batch, start to end: plan, calibrate, grade (here, in a pool, or on Dask), store each result, report.

1. ``plan`` (``jobs``): which files need grading, and as whom.
2. ``calibrate``: the reference figures, measured once before any submission runs.
3. Grading: in this process (one worker), in a pool of worker processes
   (``pool``), or as tasks on a Dask cluster (``dask_cluster``); each result
   is annotated and written by whoever graded it.
4. Each result is put into the store (one SQLite transaction) the moment it
   arrives; ``gradebook.csv``, ``canvas_import.csv`` and ``summary.html``
   are then written from the store.

Run the same command after a crash or a SIGKILL and only what is missing,
changed or broke is graded again.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

from autograder import hardware
from autograder.batch.calibrate import calibrate
from autograder.batch.dask_cluster import dask_client, run_dask
from autograder.batch.jobs import Job, Plan, SetAside, annotate, plan, refusal
from autograder.batch.options import BatchEvents, GradeOptions
from autograder.batch.pool import run_here, run_pool
from autograder.batch.worker import AnyBundle
from autograder.reports.files import write_class_reports, write_student_files
from autograder.results import Bundle, CalibrationFigures, GradingResult
from autograder.roster import Roster
from autograder.sandbox import cgroups, host, zygote
from autograder.spec import Assignment
from autograder.store import Store


@dataclasses.dataclass
class BatchReport:
    """What one run of a batch did, and every result the store now holds."""

    results: list[GradingResult]  # everyone in the store, old and new
    new: list[GradingResult]  # graded by this run
    kept: int  # already graded and unchanged
    calibration: dict[str, float]
    seconds: float
    set_aside: list[SetAside] = dataclasses.field(default_factory=list)  # superseded and refused files
    stale: list[str] = dataclasses.field(default_factory=list)  # kept, graded with an older bundle


def default_workers(memory_mb: int) -> int:
    """As many graders as the cores allow, and as the memory allows at each kernel's cap (``memory_mb``)."""
    machine = hardware.machine()
    by_memory = max(1, int((machine.get("memory_mb") or memory_mb) // (memory_mb + 1024)))
    return max(1, min(machine.get("cores") or 1, by_memory))


def run(bundle: AnyBundle, files: list[Path], out: Path, options: GradeOptions | None = None,
        events: BatchEvents | None = None, roster: Roster | None = None, slots: Any = None) -> BatchReport:
    """Grade ``files`` into ``out``; see the module's docstring for the steps.

    ``roster`` is ``options.roster`` loaded. ``slots``: a semaphore from
    ``pool.shared_slots`` that several batches running at once (``dlgrade
    demo``) share: each submission, and the calibration, holds one while it
    runs, so that the batches together never run more kernels than there are
    slots, and none idles while another has work. Raises ``UsageError`` for
    an unreachable scheduler (before any work) or a bad ``regrade``, and
    ``StoreError`` when the store cannot be written (what is stored is kept).
    """
    options, events = options or GradeOptions(), events or BatchEvents()
    started = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    swept = host.sweep_stale() + cgroups.sweep_stale()  # what an earlier batch killed with SIGKILL left behind
    if swept:
        events.log(f"removed {swept} sandbox folder(s) and control group(s) left by graders that were killed")
    new: list[GradingResult] = []
    client = dask_client(options.scheduler) if options.scheduler else None  # fails before any work
    with contextlib.ExitStack() as stack, Store(out / "gradebook.sqlite") as store:
        if client is not None:
            stack.enter_context(client)
        planned = plan(files, store, options.student, options.force, options.regrade, roster, bundle.digest,
                       options.keep_stale, events.log)
        jobs, kept = planned.jobs, planned.kept
        _settle(store, planned, bundle, out, events, roster)
        _refresh(store, planned.kept_jobs, bundle.spec, out, events)
        store.set_meta("bundle", bundle.digest)
        wanted = options.workers if options.workers and options.workers > 0 else \
            default_workers(bundle.spec.limits.memory_mb)
        workers = min(wanted, len(jobs))
        # Kernels side by side share the cores; the calibration below is measured under the same share.
        threads = max(1, (hardware.machine().get("cores") or 1) // workers) if client is None and workers > 1 else 0
        if options.canvas_column:
            store.set_meta("canvas_column", options.canvas_column)
        # One zygote for the batch, started now: it imports the spec's preload while the reference is
        # measured and the grading processes start, and they all fork their kernels from it.
        zygotes = (zygote.share_zygote(bundle.spec.limits, threads, options.isolate)
                   if client is None and jobs and isinstance(bundle, Bundle) else {})  # Otter's runner is no kernel
        calibration: CalibrationFigures | None = None
        if jobs and isinstance(bundle, Bundle):
            with slots if slots is not None else contextlib.nullcontext():
                calibration = calibrate(bundle, store, [j.path for j in jobs], options.isolate, threads,
                                        events.log, options.calibration_from)
        events.on_plan(len(jobs), len(kept))

        def finish(job: Job, data: dict) -> None:
            result = _keep(store, GradingResult.from_dict(data), job.sha256, out)  # with any override shown
            new.append(result)
            events.on_result(result)

        if not jobs:
            pass  # nothing to grade: no grader, no kernel
        elif client is not None:
            run_dask(client, bundle, jobs, out, calibration, options.isolate, finish)
        elif workers <= 1:
            run_here(bundle, jobs, out, calibration, options.isolate, finish, slots)
        else:
            run_pool(workers, bundle, jobs, out, calibration, options.isolate, threads, finish, slots, zygotes)
        results = store.results()
        column = store.get_meta("canvas_column")
        set_aside = store.set_aside()
        _say_orphans(store, out, events)
    for warning in write_class_reports(results, out, column, set_aside, bundle.digest):
        events.log(warning)
    return BatchReport(results, new, len(kept), calibration.values if calibration else {},
                       time.monotonic() - started, planned.set_aside, planned.stale)


def _keep(store: Store, result: GradingResult, sha256: str, out: Path) -> GradingResult:
    """Store a new result; where a TA set scores by hand for the student, their pages show them again (and the
    result returned, as the batch reports it, has them)."""
    store.put(result, sha256)
    shown, _ = store.overridden(result)
    if shown.overrides:  # an override outlives a regrade until it is cleared
        write_student_files(shown, out)
    return shown


def _say_orphans(store: Store, out: Path, events: BatchEvents) -> None:
    """Name each override whose student has no result here (applied to nothing, kept until cleared)."""
    for student, o, stored_at in store.override_owners():
        if stored_at is None:
            events.log(f"{student}: the override of {o.target} has no result to apply to (`dlgrade overrides "
                       f"{out}` lists it; --clear takes it back)")


def _refresh(store: Store, kept: list[Job], spec: Assignment, out: Path, events: BatchEvents) -> None:
    """Kept results take the roster given today: its names, submission times and deadlines (and so the late
    penalty) apply without grading again. A result whose student has no row in it (or a run without a roster)
    keeps what it was graded with; the bundle each was graded with stays its own (stale stays stale)."""
    stored = {r.student: r for r in store.results(overridden=False)}
    changed = []
    for job in kept:
        old = stored.get(job.student)
        if old is None or job.entry is None:  # without a roster's row, a result keeps what it was graded with
            continue
        new = annotate(copy.deepcopy(old), job, spec)
        new.bundle = old.bundle
        if (new.identity, new.late) != (old.identity, old.late):
            store.put(new, job.sha256)
            write_student_files(store.overridden(new)[0], out)
            changed.append(job.student)
    if changed:
        events.log(f"kept, with the roster's names, times or deadlines as they are now: {len(changed)} "
                   f"({', '.join(changed[:10])}{'…' if len(changed) > 10 else ''})")


def _settle(store: Store, planned: Plan, bundle: AnyBundle, out: Path, events: BatchEvents,
            roster: Roster | None) -> None:
    """The store made to agree with whose each file now is, before any grading.

    A stored result of a file given again under another id is removed with its folder: one file is one
    student. That is a file at the same path (now named by the roster), or the same bytes where the old path
    is gone (renamed); two students' identical files (the untouched template) are two students. Results of
    files not given this time are kept (a later batch may add late submissions). The files set aside go into
    the store (for the summary); a refused student's row says why, in the gradebook. The roster's students
    with no file at all are named.
    """
    for student, source, sha256 in store.files():
        owners = planned.owners.get(source, set())
        if not owners and sha256 and not Path(source).exists():
            owners = planned.owners.get(sha256, set())
        if sha256 and owners and student not in owners:
            store.forget(student)
            shutil.rmtree(out / student, ignore_errors=True)
            moved = store.move_overrides(student, next(iter(owners))) if len(owners) == 1 else 0
            events.log(f"{student}: its file ({Path(source).name}) is now graded as {', '.join(sorted(owners))} "
                       "(renamed, or named by the roster); the old result is removed"
                       + (f", and its {moved} score(s) set by hand go with it" if moved else ""))
    store.put_set_aside([(str(i.path), i.student, i.outcome.value, i.reason) for i in planned.set_aside])
    for student, items in planned.refused().items():
        result = refusal(student, items, bundle.spec, bundle.digest)
        (out / student / "executed.ipynb").unlink(missing_ok=True)  # of an earlier grading: no longer this
        write_student_files(result, out)
        store.put(result, "")
    absent = roster.without({s for s, _, _ in store.files()} | {j.student for j in planned.jobs}) if roster else []
    if absent:
        events.log(f"on the roster with no file: {len(absent)} ("
                   + ", ".join(e.student_id + (f" {e.name}" if e.name else "") for e in absent[:10])
                   + ("…" if len(absent) > 10 else "") + ")")
    for student in planned.stale:
        events.log(f"{student}: kept, though graded with an older bundle (--keep-stale); it is marked stale")

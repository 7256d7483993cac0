"""Many submissions: graders in parallel (local processes or a Dask cluster), each result stored when done.

A batch runs in four steps:

1. ``plan``: which files need grading. A stored result for the same student
   and the same file bytes (sha256) is kept; ``force`` and ``regrade`` redo
   work on purpose. Run the same command after a crash or a SIGKILL and only
   what is missing, changed or broke is graded again.
2. ``calibrate``: the reference figures (``@reference_figure`` in the hidden
   tests, e.g. the reference solution's training time) are measured once, at
   the start, before any submission runs, and kept in the store under the
   machine's fingerprint and the bundle's digest. Every grader of the batch
   judges against the same figures.
3. Grading: in this process (one worker), in a pool of worker processes each
   holding one ``Grader``, or as tasks on a Dask cluster. A worker process that
   dies takes only the submission it held with it: that submission is tried
   once more in a new worker and then marked, and the batch goes on.
4. Each finished result is put into the store (one SQLite transaction) the
   moment it arrives, then ``gradebook.csv``, ``canvas_import.csv`` and
   ``summary.html`` are written from the store.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import copy
import dataclasses
import datetime as dt
import functools
import multiprocessing
import multiprocessing.connection
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from autograder import hardware, intake, sandbox
from autograder.grade import Bundle, Grader, calibration_key, failed_result, write_result
from autograder.judge import load_hidden
from autograder.late import submission_time
from autograder.reports import write_summary
from autograder.results import GradingResult
from autograder.roster import LmsName, Roster, RosterEntry, student_for, write_canvas_import
from autograder.sandbox import sweep_stale
from autograder.spec import Assignment
from autograder.store import Store, file_hash, write_gradebook

#: A submission whose grading process died this many times is marked, not tried again.
MAX_ATTEMPTS = 2


@dataclasses.dataclass
class Job:
    path: Path
    student: str
    sha256: str
    entry: RosterEntry | None = None  # the student's row in the roster
    lms: LmsName | None = None  # what an LMS download's file name says
    attempts: int = 0


@dataclasses.dataclass
class BatchReport:
    """What one run of a batch did, and every result the store now holds."""

    results: list[GradingResult]  # everyone in the store, old and new
    new: list[GradingResult]  # graded by this run
    kept: int  # already graded and unchanged
    calibration: dict[str, float]
    seconds: float


def default_workers(memory_mb: int) -> int:
    """As many graders as the cores allow, and as the memory allows at each kernel's cap."""
    machine = hardware.machine()
    by_memory = max(1, int((machine.get("memory_mb") or memory_mb) // (memory_mb + 1024)))
    return max(1, min(machine.get("cores") or 1, by_memory))


def plan(files: list[Path], store: Store, student: str | None = None, force: bool = False,
         regrade: tuple[str, ...] = (), roster: Roster | None = None,
         log: Callable[[str], None] = lambda line: None) -> tuple[list[Job], list[str]]:
    """The jobs to run, and the students whose stored results are kept.

    Ids come from the roster, the LMS's file name or the file name (see
    ``roster.student_for``). Of one student's several LMS files (Canvas's
    ``-1``, ``-2`` re-submissions) the newest is graded; two plain files
    that map to one id (alice.ipynb, alice.zip) are both graded, as alice and
    alice-2, so that neither result overwrites the other.
    """
    candidates: dict[str, list[Job]] = {}
    for f in files:
        ident, entry, lms = student_for(f, roster)
        ident = student or ident
        candidates.setdefault(ident, []).append(Job(f, ident, "", entry, lms))
    chosen: list[Job] = []
    for ident, group in candidates.items():
        if len(group) > 1 and all(job.lms for job in group):
            group.sort(key=lambda job: int(job.lms.submission_id or 0))
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
        raise ValueError(f"--regrade {', '.join(sorted(unknown))}: no such student among the submissions given")
    return jobs, kept


def annotate(result: GradingResult, job: Job, spec: Assignment) -> GradingResult:
    """Who the student is (roster, LMS name) and any late penalty, decided by the batch from the spec."""
    identity: dict[str, Any] = {}
    if job.entry is not None:
        identity = {"name": job.entry.name, "canvas_id": job.entry.canvas_id, "sis_login": job.entry.sis_login,
                    "section": job.entry.section, "email": job.entry.email}
    if job.lms is not None:
        identity["canvas_id"] = identity.get("canvas_id") or job.lms.user_id
        identity["lms_late"] = job.lms.late
    result.identity = {k: v for k, v in identity.items() if v not in ("", None)}
    policy = getattr(spec, "late", None)
    if policy is None or result.status != "graded":
        return result
    stamp = dt.datetime.fromisoformat(result.submitted_at) if result.submitted_at else None
    zip_time = stamp if result.time_source == "zip" else None
    if zip_time is not None and zip_time.tzinfo is None:  # zips keep local time: the course's, the deadline's
        zip_time = zip_time.replace(tzinfo=policy.deadline.tzinfo)
    file_time = stamp if result.time_source == "file" and policy.trust_file_times else None
    when, source = submission_time(job.entry, zip_time, file_time)
    assessment = policy.assess(when, result.score)
    note = assessment.note
    if when is None:
        note = ("no trustworthy submission time (a file's own time is reset by downloads): no late penalty; "
                "give a roster with submitted_at to apply the late policy")
        if job.lms is not None and job.lms.late:
            note = "the LMS marks this submission LATE, but its time is unknown: " + note
    result.late = {"submitted_at": when.isoformat() if when else None, "time_source": source,
                   "hours_late": round(assessment.hours_late, 3), "penalty_percent": assessment.penalty_percent,
                   "penalty_points": round(assessment.penalty_points, 6), "note": note}
    return result


# -- graders ------------------------------------------------------------------


FAILED = "!failed"  # calibration[key + FAILED]: why the reference could not be measured at the start


def make_grader(bundle: Any, calibration: dict[str, dict], isolate: bool | None):
    """A grader for a dlgrade bundle, or for an Otter autograder zip (``otter_compat.OtterBundle``)."""
    if not isinstance(bundle, Bundle):
        from autograder.otter_compat import OtterGrader

        return OtterGrader(bundle, isolate=isolate)
    # Figures measured on another machine are no use here: the grader measures its own.
    key = calibration_key(bundle)
    grader = Grader(bundle, calibration.get(key), isolate=isolate)
    # A reference that failed at the start would fail again: no worker tries it once per submission.
    grader.calibration.failure = calibration.get(key + FAILED)
    return grader


def with_threads(bundle: Any, threads: int) -> Any:
    """The bundle with each kernel's numerical thread pools capped at ``threads`` (0: no cap)."""
    spec = bundle.spec
    limits = dataclasses.replace(spec.limits, threads=threads)
    return dataclasses.replace(bundle, spec=dataclasses.replace(spec, limits=limits))


def _limit_threads_here(threads: int) -> None:
    """The grading process's own BLAS pools too: NumPy baselines timed here share the machine as kernels do."""
    if threads:
        import threadpoolctl

        threadpoolctl.threadpool_limits(threads)


def grade_one(grader, job: Job, out: Path, prewarm: bool = False) -> dict:
    """Grade one job; a fault of ours or the machine's is recorded as its result, never raised.

    ``prewarm``: more jobs follow on this grader, so it may start the next kernel early.
    The result is annotated (``annotate``) before its files are written, so that the
    batch need not write them again.
    """
    try:
        result = grader.grade(job.path, out, student=job.student, prewarm=prewarm,
                              amend=functools.partial(annotate, job=job, spec=grader.spec))
    except Exception as e:
        result = failed_result(grader.spec, job.path, out, job.student, e)
    return result.to_dict()


def calibrate(bundle: Any, store: Store, jobs: list[Job] | None, isolate: bool | None,
              log: Callable[[str], None], calibration_from: Path | None = None) -> dict[str, dict]:
    """The reference figures for this batch, by calibration key: from the store, or measured now.

    ``calibration_from`` names another results folder whose figures (for this
    machine and bundle) this batch adopts, so that two batches, e.g. two
    sections of one class, are judged against the very same figures.
    """
    if not isinstance(bundle, Bundle) or not bundle.reference.exists():
        return {}
    key = calibration_key(bundle)
    known = store.calibration(key) or {}
    if calibration_from is not None:
        other = Path(calibration_from) / "gradebook.sqlite"
        if not other.exists():
            raise ValueError(f"--calibration-from {calibration_from}: no gradebook.sqlite there")
        with Store(other) as theirs:
            adopted = theirs.calibration(key)
        if adopted is None:
            raise ValueError(f"--calibration-from {calibration_from}: it holds no reference figures for this "
                             "machine, this build of the assignment and these kernel settings (key "
                             f"{key}); grade without it to measure them")
        store.put_calibration(key, adopted, 0.0)
        log(f"using the reference figures of {calibration_from}: "
            + ", ".join(f"{k} = {v:.3g} s" for k, v in sorted(adopted.items())))
        known = adopted
    figures = load_hidden(bundle.spec, bundle.root / "hidden").figures
    missing = [f for f in figures if f not in known]
    if not missing or (jobs is not None and not any(_gradable(job, bundle) for job in jobs)):
        return {key: known} if known else {}
    log(f"calibrating: measuring the reference solution on this machine ({', '.join(missing)}) ...")
    started = time.monotonic()
    with Grader(bundle, known, isolate=isolate) as grader:
        values = grader.calibration.measure_all()
        failure = grader.calibration.failure
    seconds = time.monotonic() - started
    if failure:
        log(f"calibration failed: {failure}; the checks that need it are not graded")
        return {key: values, key + FAILED: failure}
    store.put_calibration(key, values, seconds)
    log(f"calibrated in {seconds:.0f} s: " + ", ".join(f"{k} = {v:.3g} s" for k, v in sorted(values.items())))
    return {key: values}


def _gradable(job: Job, bundle: Bundle) -> bool:
    try:
        intake.load(job.path, bundle.spec.notebook)
        return True
    except intake.IntakeError:
        return False


# -- running ------------------------------------------------------------------


def run(bundle: Any, files: list[Path], out: Path, workers: int = 1, scheduler: str | None = None,
        student: str | None = None, isolate: bool | None = None, force: bool = False,
        regrade: tuple[str, ...] = (), on_result: Callable[[GradingResult], None] | None = None,
        log: Callable[[str], None] = lambda line: None, on_plan: Callable[[int, int], None] | None = None,
        calibration_from: Path | None = None, roster: Roster | None = None,
        canvas_column: str | None = None, slots: Any = None) -> BatchReport:
    """Grade ``files`` into ``out``; see the module's docstring for the steps.

    ``slots``: a semaphore from ``shared_slots`` that several batches running
    at once (``dlgrade demo``) share: each submission, and the calibration,
    holds one while it runs, so that the batches together never run more
    kernels than there are slots, and none idles while another has work.
    """
    started = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    swept = sweep_stale()  # what an earlier batch killed with SIGKILL left in /tmp
    if swept:
        log(f"removed {swept} sandbox folder(s) left behind by graders that were killed")
    new: list[GradingResult] = []
    client = _dask_client(scheduler) if scheduler else None  # an unreachable cluster fails before any work
    with contextlib.ExitStack() as stack, Store(out / "gradebook.sqlite") as store:
        if client is not None:
            stack.enter_context(client)
        jobs, kept = plan(files, store, student, force, tuple(regrade), roster, log)
        local_workers = min(workers, len(jobs))
        if client is None and local_workers > 1:
            # Kernels side by side share the cores; the calibration below is measured under the same share.
            bundle = with_threads(bundle, max(1, (hardware.machine().get("cores") or 1) // local_workers))
        if canvas_column:
            store.set_meta("canvas_column", canvas_column)
        # One zygote for the batch (see zygote.py), started now: it imports the spec's preload while the
        # reference is measured and the grading processes start, and they all fork their kernels from it.
        zygotes = (sandbox.share_zygote(bundle.spec.limits, isolate)
                   if client is None and jobs and isinstance(bundle, Bundle) else {})  # Otter's runner is no kernel
        with slots if slots is not None else contextlib.nullcontext():
            calibration = calibrate(bundle, store, jobs, isolate, log, calibration_from) if jobs else {}
        if on_plan:
            on_plan(len(jobs), len(kept))

        def finish(job: Job, data: dict) -> None:
            result = GradingResult.from_dict(data)
            written = (copy.deepcopy(result.identity), copy.deepcopy(result.late))
            result = annotate(result, job, bundle.spec)
            if (result.identity, result.late) != written:  # the student's files must say it too
                write_result(result, out)
            store.put(result, job.sha256)
            new.append(result)
            if on_result:
                on_result(result)

        if client is not None:
            _run_dask(client, bundle, jobs, out, calibration, isolate, finish)
        elif local_workers <= 1:
            _run_here(bundle, jobs, out, calibration, isolate, finish, slots)
        else:
            _run_pool(local_workers, bundle, jobs, out, calibration, isolate, finish, slots, zygotes)
        results = store.results()
        column = store.get_meta("canvas_column")
    write_class_reports(results, out, column)
    figures = next(iter(calibration.values()), {})
    return BatchReport(results, new, len(kept), figures, time.monotonic() - started)


def shared_slots(n: int):
    """A semaphore of ``n`` grading slots that batches in one program share (``run(slots=...)``)."""
    return multiprocessing.get_context("spawn").BoundedSemaphore(n)


def _run_here(bundle, jobs: list[Job], out: Path, calibration: dict, isolate, finish, slots=None) -> None:
    grader = make_grader(bundle, calibration, isolate)
    _start_ahead(grader)
    try:
        for i, job in enumerate(jobs):
            with slots if slots is not None else contextlib.nullcontext():
                data = grade_one(grader, job, out, prewarm=i + 1 < len(jobs))
            finish(job, data)
    finally:
        grader.close()


def _start_ahead(grader) -> None:
    """The first submission's kernel, started while the job is on its way (dlgrade graders only)."""
    if isinstance(grader, Grader):
        grader.prewarm()


def _worker_main(conn, bundle, calibration: dict, isolate, out: Path, zygotes: dict[str, str]) -> None:
    """A grading process: one grader, ``(job, more_follow)`` in through ``conn``, results out; None ends it.

    ``zygotes``: the batch's, to fork kernels from (``sandbox.share_zygote``).
    """
    try:
        _limit_threads_here(bundle.spec.limits.threads)
        sandbox.adopt_zygotes(zygotes)
        grader = make_grader(bundle, calibration, isolate)
    except BaseException:
        conn.send(("fatal", traceback.format_exc(limit=5)))
        return
    _start_ahead(grader)  # the batch gives every worker a job
    try:
        while True:
            try:
                job = conn.recv()
            except EOFError:  # the batch is gone
                return
            if job is None:
                return
            job, more = job
            conn.send(("result", grade_one(grader, job, out, prewarm=more)))
    finally:
        grader.close()


def _run_pool(n: int, bundle, jobs: list[Job], out: Path, calibration: dict, isolate, finish, slots=None,
              zygotes: dict[str, str] | None = None) -> None:
    """``n`` worker processes; each holds one job at a time, so a death costs only that job.

    With shared ``slots`` a job is handed out only with a slot, taken and
    given back here, in the batch's own process: a worker killed mid-job
    cannot take its slot with it.
    """
    ctx = multiprocessing.get_context("spawn")
    pending = collections.deque(jobs)
    workers: dict[Any, list] = {}  # parent end of the pipe -> [process, job or None]
    idle: list = []  # workers waiting for a job (or a slot)

    def spawn() -> None:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child, bundle, calibration, isolate, out, zygotes or {}),
                           name="dlgrade-worker")
        proc.start()
        child.close()
        workers[parent] = [proc, None]
        idle.append(parent)

    def send(conn, message) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):  # it just died; its sentinel says so next
            pass

    def hand_out() -> None:
        """Jobs to idle workers while there are jobs (and slots); with no jobs left, idle workers may go."""
        while idle:
            if not pending:
                for conn in idle:
                    send(conn, None)
                idle.clear()
                return
            if slots is not None and not slots.acquire(block=False):
                return
            conn = idle.pop(0)
            job = pending.popleft()
            workers[conn][1] = job
            send(conn, (job, bool(pending)))

    def done_with(conn) -> None:
        workers[conn][1] = None
        if slots is not None:
            slots.release()

    def lost(conn) -> None:
        proc, job = workers.pop(conn)
        conn.close()
        proc.join(timeout=5)
        if conn in idle:
            idle.remove(conn)
        if job is not None:
            if slots is not None:
                slots.release()
            job.attempts += 1
            if job.attempts < MAX_ATTEMPTS:
                pending.appendleft(job)
            else:
                error = RuntimeError(f"the grading process died {job.attempts} times on this submission "
                                     f"(last exit code {proc.exitcode})")
                finish(job, failed_result(bundle.spec, job.path, out, job.student, error).to_dict())
        if pending:
            spawn()

    try:
        for _ in range(n):
            spawn()
        hand_out()
        while pending or any(job is not None for _, job in workers.values()):
            sentinels = {proc.sentinel: conn for conn, (proc, _) in workers.items()}
            # Idle workers wait for a slot another batch holds: look again now and then.
            timeout = 0.5 if idle and pending else None
            for ready in multiprocessing.connection.wait([*workers, *sentinels], timeout=timeout):
                conn = sentinels.get(ready, ready)
                if conn not in workers:
                    continue
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    lost(conn)
                    continue
                if kind == "fatal":
                    raise RuntimeError(f"a grading process could not start:\n{payload}")
                job = workers[conn][1]
                done_with(conn)
                idle.append(conn)
                hand_out()  # the worker's next job first: storing this result must not keep it waiting
                finish(job, payload)
            hand_out()
    finally:
        for conn, (proc, job) in list(workers.items()):
            if job is not None and slots is not None:
                slots.release()
            send(conn, None)
        for conn, (proc, _) in list(workers.items()):
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()


# -- Dask ---------------------------------------------------------------------

_dask_graders = threading.local()
_all_dask_graders: list = []


def _grade_on_dask_worker(bundle, job: Job, out: str, calibration: dict, isolate) -> dict:
    """A Dask task: grade one job with this worker thread's grader (made on first use, kept)."""
    key = (str(getattr(bundle, "root", "")), getattr(bundle, "digest", ""), isolate)
    graders = getattr(_dask_graders, "by_bundle", None)
    if graders is None:
        graders = _dask_graders.by_bundle = {}
    if key not in graders:
        graders[key] = make_grader(bundle, calibration, isolate)
        _all_dask_graders.append(graders[key])
    return grade_one(graders[key], job, Path(out))


@atexit.register
def _close_dask_graders() -> None:
    for grader in _all_dask_graders:
        grader.close()


def _dask_client(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs Dask's distributed package: pip install distributed") from None
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise ValueError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({e})") from None


def _run_dask(client, bundle, jobs: list[Job], out: Path, calibration: dict, isolate, finish) -> None:
    """Every job as a task on the cluster; a lost worker's tasks are rescheduled by Dask.

    The bundle, the submissions and ``out`` must be at the same paths on every
    worker (one machine, or a shared file system); results come back to this
    process, which stores them.
    """
    from distributed import as_completed

    futures = {}
    for job in jobs:
        future = client.submit(_grade_on_dask_worker, bundle, job, str(out), calibration, isolate,
                               key=f"dlgrade-{job.student}-{job.sha256[:12]}", pure=False, retries=1)
        futures[future] = job
    for future in as_completed(futures):
        job = futures[future]
        try:
            data = future.result()
        except Exception as e:  # the task kept failing, or its workers kept dying
            data = failed_result(bundle.spec, job.path, out, job.student, e).to_dict()
        finish(job, data)


def write_class_reports(results: list[GradingResult], out: Path, canvas_column: str | None = None) -> None:
    """gradebook.csv, canvas_import.csv and summary.html, from every stored result."""
    write_gradebook(results, out / "gradebook.csv")
    if results:
        column = canvas_column or results[0].assignment
        possible = max(r.possible for r in results)
        rows = [(_entry_of(r), r.student, r.final_score if r.status == "graded" else None) for r in results]
        write_canvas_import(rows, out / "canvas_import.csv", column, possible)
    write_summary(results, out / "summary.html")


def _entry_of(result: GradingResult) -> RosterEntry | None:
    """The roster entry a stored result remembers, for the Canvas import."""
    who = result.identity
    if not who:
        return None
    return RosterEntry(student_id=result.student, name=who.get("name", ""), canvas_id=who.get("canvas_id", ""),
                       sis_login=who.get("sis_login", ""), section=who.get("section", ""))

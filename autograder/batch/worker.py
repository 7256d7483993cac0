"""What a grading process does: hold one grader, grade the jobs it is handed, send each result back.

``worker_main`` is the program of a spawned process (``multiprocessing``'s
spawn start method); ``grade_one`` is also what a Dask task and a batch with
one worker run in the batch's own process.
"""

from __future__ import annotations

import functools
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from autograder.batch.jobs import Job, annotate
from autograder.grading.contract import Grader
from autograder.grading.notebook import NotebookGrader
from autograder.grading.steps import calibration_key, failed_result
from autograder.otter_mode import OtterBundle, OtterGrader
from autograder.reports.files import write_student_files
from autograder.results import Bundle, CalibrationFigures
from autograder.sandbox import zygote

#: What a batch grades: a built dlgrade assignment, or an Otter autograder zip.
AnyBundle = Bundle | OtterBundle


def make_grader(bundle: AnyBundle, calibration: CalibrationFigures | None, isolate: bool | None,
                threads: int = 0) -> Grader:
    """The grader for a bundle: dlgrade's own for a built assignment, Otter's runner for an autograder zip.

    ``calibration`` figures measured on another machine, build or kernel
    setting are no use here: the grader then measures its own.
    """
    if isinstance(bundle, OtterBundle):
        return OtterGrader(bundle, isolate=isolate, threads=threads)
    if calibration is not None and calibration.key != calibration_key(bundle):
        calibration = None
    return NotebookGrader(bundle, calibration, isolate=isolate, threads=threads)


def limit_threads_here(threads: int) -> None:
    """The grading process's own BLAS pools too: NumPy baselines timed here share the machine as kernels do."""
    if threads:
        import threadpoolctl

        threadpoolctl.threadpool_limits(threads)


def grade_one(grader: Grader, job: Job, out: Path, prewarm: bool = False) -> dict:
    """Grade one job, annotated and written; a fault of ours or the machine's is recorded as its result.

    ``prewarm``: more jobs follow on this grader, so it may start the next
    kernel early. Returns the result as a dict (what crosses back to the batch).
    """
    amend = functools.partial(annotate, job=job, spec=grader.spec)
    try:
        result = grader.grade(job.path, out, student=job.student, prewarm=prewarm, amend=amend)
    except Exception as e:
        result = write_student_files(amend(failed_result(grader.spec, job.path, job.student, e)), out)
    return result.to_dict()


def worker_main(conn: Connection, bundle: AnyBundle, calibration: CalibrationFigures | None, isolate: bool | None,
                threads: int, out: Path, zygotes: dict[str, str]) -> None:
    """A grading process: one grader, ``(job, more_follow)`` in through ``conn``, results out; None ends it.

    ``zygotes``: the batch's, to fork kernels from (``sandbox.zygote.share_zygote``).
    """
    try:
        limit_threads_here(threads)
        zygote.adopt_zygotes(zygotes)
        grader = make_grader(bundle, calibration, isolate, threads)
    except BaseException:
        conn.send(("fatal", traceback.format_exc(limit=5)))
        return
    grader.start_ahead()  # the batch gives every worker a job
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the batch is gone
                return
            if message is None:
                return
            job, more = message
            conn.send(("result", grade_one(grader, job, out, prewarm=more)))
    finally:
        grader.close()

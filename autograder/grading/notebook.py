"""dlgrade's own grader: a notebook run in a sandbox, judged by the hidden tests in the trusted process.

One submission's way: read the file (intake) -> a fresh sandbox with the
notebook and data in place -> the cells top to bottom (execute) -> Otter's
public checks, shown not counted -> the hidden tests (judge) -> the result,
written by the reports.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import time
from pathlib import Path

import nbformat

from autograder import hardware, intake
from autograder.errors import SubmissionError
from autograder.execute import NotebookRun
from autograder.grading.contract import Amend
from autograder.grading.public_checks import public_checks
from autograder.grading.steps import assemble, isolation_of, prepare_sandbox, read_submission
from autograder.judge.calibration import Calibration
from autograder.judge.handle import Handle
from autograder.judge.loader import load_hidden
from autograder.judge.runner import judge
from autograder.reports.files import write_student_files
from autograder.results import Bundle, CalibrationFigures, GradingResult, ResultStatus
from autograder.sandbox.kernel import Sandbox


class NotebookGrader:
    """Grades submissions of one bundle; holds the calibration (reference figures) between them.

    ``calibration`` are figures a batch measured at its start (see
    ``steps.calibration_key``); without them, the reference is measured when a
    test first needs it. ``threads`` caps each kernel's thread pools (a
    batch's share of the cores; 0: no cap).

    ``grade(..., prewarm=True)`` starts the next submission's kernel, in a
    sandbox of its own with the spec's ``preload`` imported, while this
    submission is judged. No submission code ever runs in it before it is
    handed to the next submission, so it is as clean as a kernel started then.
    """

    def __init__(self, bundle: Bundle, calibration: CalibrationFigures | None = None, isolate: bool | None = None,
                 threads: int = 0):
        self.bundle = bundle
        self.spec = bundle.spec
        self.isolate = isolate
        self.threads = threads
        hidden = load_hidden(self.spec, bundle.hidden_dir)
        self.tests = hidden.tests
        self.public_tests = bundle.public_tests  # the questions grader.check has tests for
        self._exit = contextlib.ExitStack()
        start_ref = self._start_reference if bundle.reference.exists() else None
        figures = calibration or CalibrationFigures(key="")
        self.calibration = Calibration(figures.values, start_ref, hidden.figures, figures.failure)
        self._warm: concurrent.futures.Future[Sandbox] | None = None
        self._starter: concurrent.futures.ThreadPoolExecutor | None = None

    def close(self) -> None:
        self._drop_warm()
        if self._starter is not None:
            self._starter.shutdown(wait=True)
        self._exit.close()

    def __enter__(self) -> NotebookGrader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- kernels ------------------------------------------------------------

    def _new_sandbox(self) -> Sandbox:
        return Sandbox(self.spec.limits, isolate=self.isolate, threads=self.threads)

    def _started_sandbox(self) -> Sandbox:
        sandbox = self._new_sandbox()
        try:
            sandbox.start()
            sandbox.preload()
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def start_ahead(self) -> None:
        """Start a kernel for the next submission now, in the background, unless one is started already."""
        if self._warm is None:
            if self._starter is None:
                self._starter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dlgrade-prewarm")
            self._warm = self._starter.submit(self._started_sandbox)

    def _take_warm(self) -> Sandbox | None:
        """The kernel started ahead for this submission, if there is one and it is still alive."""
        warm, self._warm = self._warm, None
        if warm is None:
            return None
        try:
            sandbox = warm.result()
        except Exception:  # it could not start: a fresh start now will say why
            return None
        if not sandbox.alive:
            sandbox.close()
            return None
        return sandbox

    def _drop_warm(self) -> None:
        sandbox = self._take_warm()
        if sandbox is not None:
            sandbox.close()

    def _sandbox_for(self, notebook: nbformat.NotebookNode) -> Sandbox:
        """A started kernel in a fresh sandbox, the notebook and data in place."""
        sandbox = self._take_warm() or self._started_sandbox()
        try:
            # Started ahead or just now, the kernel has run nothing but our imports: nothing of the
            # submission's can be in the way in its folder.
            prepare_sandbox(sandbox, notebook, self.spec.notebook, self.bundle.files_dir)
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def _start_reference(self) -> Handle:
        ref_nb = intake.parse_notebook(self.bundle.reference.read_bytes(), str(self.bundle.reference))
        sandbox = self._new_sandbox()
        try:
            prepare_sandbox(sandbox, ref_nb, self.spec.notebook, self.bundle.files_dir)
            sandbox.start()
            sandbox.preload()  # as a submission's kernel has: their timings are compared
            run = NotebookRun(ref_nb, sandbox).run_all()
            broken = run.failed_cells()
            if broken:
                raise RuntimeError(f"the reference solution failed at {broken[0].label}: {broken[0].message}")
            handle = Handle(run, self.spec.limits.call_timeout)
        except BaseException:
            sandbox.close()
            raise
        self._exit.callback(sandbox.close)
        return handle

    # -- grading ------------------------------------------------------------

    def grade(self, path: Path, out: Path, student: str | None = None, prewarm: bool = False,
              amend: Amend | None = None) -> GradingResult:
        """Grade one file and write ``out/<student>/``: results.json, feedback.html, executed.ipynb."""
        started = time.perf_counter()
        sub = read_submission(self.spec, path, student)
        if isinstance(sub, GradingResult):
            return self._write(sub, out, None, started, amend)
        sandbox = self._sandbox_for(sub.notebook)
        handle: Handle | None = None
        try:
            run = NotebookRun(sub.notebook, sandbox).run_all()
            if prewarm:
                self.start_ahead()
            public = public_checks(run, list(self.spec.questions), self.public_tests)
            judge_start = time.perf_counter()
            setup_error = ""
            try:
                handle = Handle(run, self.spec.limits.call_timeout, budget=self.spec.limits.notebook_timeout)
            except SubmissionError as e:
                setup_error = f"the notebook's kernel was lost: {e}"
            gpu = sandbox.gpu and hardware.has_gpu()
            isolation, limits = isolation_of(sandbox)
            tests, plots = judge(handle, self.spec, self.tests, gpu, self.calibration, setup_error)
            result = assemble(
                self.spec, path, sub.student, ResultStatus.GRADED, submission=sub, tests=tests, public=public,
                cells=run.cells, plots=plots, isolation=isolation, limits=limits, gpu=gpu,
                calibration=dict(self.calibration.values),
                seconds={"notebook": run.seconds, "judge": time.perf_counter() - judge_start},
            )
        finally:
            if handle is not None:
                handle.close()
            sandbox.close()
        return self._write(result, out, run.executed, started, amend)

    @staticmethod
    def _write(result: GradingResult, out: Path, executed: nbformat.NotebookNode | None, started: float,
               amend: Amend | None) -> GradingResult:
        result.seconds["total"] = time.perf_counter() - started
        return write_student_files(amend(result) if amend else result, out, executed)

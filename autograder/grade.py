"""Grading one submission from file to reports: intake -> sandbox -> judge -> results -> reports."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import nbformat

from autograder import hardware, intake
from autograder.execute import NotebookRun
from autograder.judge import Calibration, Handle, SubmissionError, judge, load_hidden
from autograder.reports import write_feedback
from autograder.results import GradingResult, write_json
from autograder.sandbox import Sandbox
from autograder.spec import Assignment

#: Completes a result before its files are written (``Grader.grade``'s ``amend``).
Amend = Callable[[GradingResult], GradingResult]

#: Runs in the kernel after the notebook: Otter's own public checks, as the student sees them.
_PUBLIC_CHECKS = """
import json as __j
__out = {}
for __q in %(questions)r:
    try:
        __r = grader.check(__q)
        __out[__q] = {"passed": bool(getattr(__r, "all_passed", getattr(__r, "passed_all", False))),
                      "text": str(__r)[:3000]}
    except Exception as __e:
        __out[__q] = {"passed": False, "text": "%%s: %%s" %% (type(__e).__name__, __e)}
print("@@dlgrade-public@@" + __j.dumps(__out))
"""


@dataclasses.dataclass
class Bundle:
    """A built assignment as the grader uses it: spec, hidden tests, reference notebook."""

    spec: Assignment
    root: Path

    @property
    def reference(self) -> Path:
        return self.root / "reference.ipynb"

    @property
    def digest(self) -> str:
        manifest = self.root / "manifest.json"
        return json.loads(manifest.read_text()).get("digest", "") if manifest.exists() else ""


def calibration_key(bundle: Bundle) -> str:
    """Reference figures hold for one machine, one build of the bundle, and one way of running kernels.

    The last part changes when what every kernel runs under changes (``sandbox.TF_DATA_DEFAULTS``):
    figures measured before are not compared with timings taken after.
    """
    autotune = "autotune" if bundle.spec.limits.tf_data_autotune else "no-autotune"
    return f"{hardware.fingerprint()}/{bundle.digest}/{autotune}"


def place_notebook(sandbox: Sandbox, nb: nbformat.NotebookNode, name: str) -> None:
    # Under the assignment's own file name: otter.Notebook("a1.ipynb") reads it.
    path = sandbox.workdir / name
    nbformat.write(nb, str(path))
    if sandbox.uid != os.geteuid():
        os.chown(path, sandbox.uid, sandbox.uid)


def place_files(sandbox: Sandbox, bundle_root: Path) -> None:
    """The spec's data files and folders (built into the bundle's ``files/``) beside the notebook, as students
    have them; folders are copied whole. Runs before any submission code, so ``workdir`` holds only the notebook.
    """
    folder = Path(bundle_root) / "files"
    if not folder.is_dir():
        return
    uid = sandbox.uid if sandbox.uid != os.geteuid() else None
    for f in sorted(folder.iterdir()):
        _place(f, sandbox.workdir / f.name, uid)


def _place(source: Path, dest: Path, uid: int | None) -> None:
    """``source`` copied to ``dest``, a folder with all it holds; a link is never followed (nor copied)."""
    if source.is_symlink():
        return
    if source.is_dir():
        dest.mkdir()
        if uid is not None:
            os.chown(dest, uid, uid)
        for child in sorted(source.iterdir()):
            _place(child, dest / child.name, uid)
    elif source.is_file():
        shutil.copyfile(source, dest)
        if uid is not None:
            os.chown(dest, uid, uid)


def public_checks(run: NotebookRun, questions: list[str]) -> dict[str, dict]:
    """Otter's public tests, run in the sandbox; shown to students, never counted."""
    if not run.sandbox.alive:
        return {}
    res = run.sandbox.run(_PUBLIC_CHECKS % {"questions": questions}, timeout=run.sandbox.limits.cell_timeout)
    text = "".join(o.get("text", "") for o in res.outputs if o.get("output_type") == "stream")
    marker = text.rfind("@@dlgrade-public@@")
    if not res.ok or marker < 0:
        return {}
    try:
        data = json.loads(text[marker + len("@@dlgrade-public@@"):].splitlines()[0])
    except (ValueError, IndexError):
        return {}
    if not isinstance(data, dict):  # the submission's own json, perhaps patched
        return {}
    return {q: {"passed": v.get("passed") is True, "text": str(v.get("text", ""))[:3000]}
            for q, v in data.items() if q in questions and isinstance(v, dict)}


class Grader:
    """Grades submissions of one bundle; holds the calibration (reference figures) between them.

    ``calibration`` are figures a batch measured at its start (see
    ``calibration_key``); without them, the reference is measured when a test
    first needs it.

    ``grade(..., prewarm=True)`` starts the next submission's kernel, in a
    sandbox of its own with the spec's ``preload`` imported, while this
    submission is judged. No submission code ever runs in it before it is
    handed to the next submission, so it is as clean as a kernel started then.
    """

    def __init__(self, bundle: Bundle, calibration: dict[str, float] | None = None, isolate: bool | None = None):
        self.bundle = bundle
        self.spec = bundle.spec
        self.isolate = isolate
        hidden = load_hidden(self.spec, bundle.root / "hidden")
        self.tests = hidden.tests
        self._exit = contextlib.ExitStack()
        start_ref = self._start_reference if bundle.reference.exists() else None
        self.calibration = Calibration(calibration, start_ref, hidden.figures)
        self._warm: concurrent.futures.Future | None = None
        self._starter: concurrent.futures.ThreadPoolExecutor | None = None

    def close(self) -> None:
        self._drop_warm()
        if self._starter is not None:
            self._starter.shutdown(wait=True)
        self._exit.close()

    # -- kernels ------------------------------------------------------------

    def _started_sandbox(self) -> Sandbox:
        sandbox = Sandbox(self.spec.limits, isolate=self.isolate)
        try:
            sandbox.start()
            sandbox.preload()
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def prewarm(self) -> None:
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
        """A started kernel in a fresh sandbox, the notebook placed under the assignment's file name."""
        sandbox = self._take_warm() or self._started_sandbox()
        try:
            # Started ahead or just now, the kernel has run nothing but our imports: nothing of the
            # submission's can be in the way in its folder.
            place_notebook(sandbox, notebook, self.spec.notebook)
            place_files(sandbox, self.bundle.root)
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start_reference(self) -> Handle:
        ref_nb = intake.parse_notebook(self.bundle.reference.read_bytes(), str(self.bundle.reference))
        sandbox = Sandbox(self.spec.limits, isolate=self.isolate)
        try:
            place_notebook(sandbox, ref_nb, self.spec.notebook)
            place_files(sandbox, self.bundle.root)
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

    def grade(self, path: Path, out: Path, student: str | None = None, prewarm: bool = False,
              amend: Amend | None = None) -> GradingResult:
        """Grade one file and write ``out/<student>/``: results.json, feedback.html, executed.ipynb.

        ``prewarm``: another submission follows; start its kernel while this one is judged.
        ``amend``: what the caller adds to the result (a batch: identity, late penalty) before it is written.
        """
        started = time.perf_counter()
        common = dict(machine=hardware.machine(), fingerprint=hardware.fingerprint(), source=str(path))
        sub, rejected = load_submission(self.spec, path, student, common)
        if rejected is not None:
            return self._write(rejected, out, None, started, amend)
        sandbox = self._sandbox_for(sub.notebook)
        try:
            run = NotebookRun(sub.notebook, sandbox).run_all()
            notebook_seconds = run.seconds
            if prewarm:
                self.prewarm()
            public = public_checks(run, list(self.spec.questions))
            judge_start = time.perf_counter()
            handle, setup_error = None, ""
            try:
                handle = Handle(run, self.spec.limits.call_timeout, budget=self.spec.limits.notebook_timeout)
            except SubmissionError as e:
                setup_error = f"the notebook's kernel was lost: {e}"
            gpu = sandbox.gpu and hardware.has_gpu()
            tests, plots = judge(handle, self.spec, self.tests, gpu, self.calibration, setup_error)
            isolation = "bubblewrap" if sandbox.isolated else f"off: {sandbox.isolation_note}"
            result = GradingResult.assemble(
                self.spec, tests, public, student=sub.student, status="graded", cells=run.cells, plots=plots,
                isolation=isolation, gpu=gpu, calibration=dict(self.calibration.values),
                submitted_at=sub.submitted_at.isoformat() if sub.submitted_at else None,
                time_source=sub.time_source,
                seconds={"notebook": notebook_seconds, "judge": time.perf_counter() - judge_start}, **common,
            )
        finally:
            sandbox.close()
        return self._write(result, out, run.executed, started, amend)

    def _write(self, result: GradingResult, out: Path, executed, started: float,
               amend: Amend | None) -> GradingResult:
        result.seconds["total"] = time.perf_counter() - started
        return write_result(amend(result) if amend else result, out, executed)


def load_submission(spec: Assignment, path: Path, student: str | None,
                    common: dict) -> tuple[intake.Submission | None, GradingResult | None]:
    """The submission, or else the ``rejected`` result that says why it cannot be graded."""
    try:
        return intake.load(path, spec.notebook, student), None
    except intake.IntakeError as e:
        return None, GradingResult.assemble(spec, [], {}, student=student or intake.student_id(Path(path)),
                                            status="rejected", message=str(e), **common)


def write_result(result: GradingResult, out: Path, executed=None) -> GradingResult:
    """``out/<student>/``: results.json, feedback.html and, where the notebook ran, executed.ipynb."""
    folder = Path(out) / result.student
    folder.mkdir(parents=True, exist_ok=True)
    if executed is not None:
        nbformat.write(executed, str(folder / "executed.ipynb"))
    write_feedback(result, folder / "feedback.html")
    write_json(folder / "results.json", result.to_gradescope())
    return result


def failed_result(spec: Assignment, path: Path, out: Path, student: str, error: BaseException) -> GradingResult:
    """The result for a submission whose grading broke down: not its score; a rerun grades it again."""
    result = GradingResult.assemble(
        spec, [], {}, student=student, status="error", source=str(path), machine=hardware.machine(),
        fingerprint=hardware.fingerprint(),
        message=f"grading failed ({type(error).__name__}: {str(error)[:300]}); run the same command again",
    )
    return write_result(result, out)

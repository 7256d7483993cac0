"""Steps every grader takes: read the file, prepare the sandbox, assemble the result, key the calibration.

Written once here, so that dlgrade's grader, Otter mode and ``dlgrade check``
place a notebook, record a machine and say why a file was refused the same
way.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import nbformat

from autograder import hardware, intake
from autograder.errors import IntakeError
from autograder.results import Bundle, GradingResult, ResultStatus, TestResult, TimeSource
from autograder.sandbox.kernel import Sandbox
from autograder.spec import Assignment


def calibration_key(bundle: Bundle) -> str:
    """Reference figures hold for one machine, one build of the bundle, and one way of running kernels.

    The last part changes when what every kernel runs under changes
    (``sandbox.environment.TF_DATA_DEFAULTS``): figures measured before are
    not compared with timings taken after.
    """
    autotune = "autotune" if bundle.spec.limits.tf_data_autotune else "no-autotune"
    return f"{hardware.fingerprint()}/{bundle.digest}/{autotune}"


def read_submission(spec: Assignment, path: Path, student: str | None) -> intake.Submission | GradingResult:
    """The submission in ``path``, or else the ``rejected`` result that says why it cannot be graded."""
    try:
        return intake.load(path, spec.notebook, student)
    except IntakeError as e:
        return assemble(spec, path, student or intake.student_id(Path(path)), ResultStatus.REJECTED,
                        message=str(e))


def prepare_sandbox(sandbox: Sandbox, notebook: nbformat.NotebookNode, name: str, files: Path | None = None,
                    inbox: dict[str, Path] | None = None, folders: tuple[str, ...] = ()) -> None:
    """Put everything in place before any submission code runs in ``sandbox``.

    The notebook goes under the assignment's file name ``name`` (Otter's
    ``otter.Notebook("a1.ipynb")`` reads that exact name, whatever the file
    was called); the bundle's data ``files`` (a folder) are copied beside it,
    folders whole, as students have them; ``inbox`` files (name -> source)
    are copied into the read-only inbox; ``folders`` are made, empty and the
    kernel's, in its working folder. Afterwards the grader only reads
    ``work/``, never following links.
    """
    uid = sandbox.uid if sandbox.uid != os.geteuid() else None
    path = sandbox.workdir / name
    nbformat.write(notebook, str(path))
    _own(path, uid)
    if files is not None:
        place_files(sandbox, files)
    for dest, source in (inbox or {}).items():
        shutil.copyfile(source, sandbox.inbox / dest)
    for folder in folders:
        (sandbox.workdir / folder).mkdir()
        _own(sandbox.workdir / folder, uid)


def place_files(sandbox: Sandbox, files: Path) -> None:
    """Every file and folder in ``files`` copied into the sandbox's working folder, the kernel's; no link followed."""
    if not files.is_dir():
        return
    uid = sandbox.uid if sandbox.uid != os.geteuid() else None
    for f in sorted(files.iterdir()):
        _place(f, sandbox.workdir / f.name, uid)


def _own(path: Path, uid: int | None) -> None:
    if uid is not None:
        os.chown(path, uid, uid)


def _place(source: Path, dest: Path, uid: int | None) -> None:
    """Copy a file, or a folder with all it holds; a link is never followed (nor copied)."""
    if source.is_symlink():
        return
    if source.is_dir():
        dest.mkdir()
        _own(dest, uid)
        for child in sorted(source.iterdir()):
            _place(child, dest / child.name, uid)
    elif source.is_file():
        shutil.copyfile(source, dest)
        _own(dest, uid)


def isolation_of(sandbox: Sandbox) -> tuple[str, str]:
    """How a sandbox isolated its kernel and limited it, as results record them (``isolation``, ``limits``)."""
    return "bubblewrap" if sandbox.isolated else f"off: {sandbox.isolation_note}", sandbox.limits_note


def assemble(spec: Assignment, path: Path, student: str, status: ResultStatus, *,
             submission: intake.Submission | None = None, tests: list[TestResult] | None = None,
             public: dict[str, dict] | None = None, **fields: Any) -> GradingResult:
    """A submission's result, with what every result records: source, machine, and the file's own time.

    ``fields`` are the rest of ``GradingResult``'s (cells, plots, isolation, gpu, calibration, seconds, message).
    """
    if submission is not None and submission.submitted_at is not None:
        fields.setdefault("submitted_at", submission.submitted_at.isoformat())
        fields.setdefault("time_source", TimeSource(submission.time_source))
    if submission is not None:
        fields.setdefault("notes", list(submission.notes))
    return GradingResult.assemble(spec, tests or [], public or {}, student=student, status=status,
                                  source=str(path), machine=hardware.machine(),
                                  fingerprint=hardware.fingerprint(), **fields)


def failed_result(spec: Assignment, path: Path, student: str, error: BaseException) -> GradingResult:
    """The result for a submission whose grading broke down: not its score; a rerun grades it again."""
    return assemble(spec, path, student, ResultStatus.ERROR,
                    message=f"grading failed ({type(error).__name__}: {str(error)[:300]}); "
                            "run the same command again")

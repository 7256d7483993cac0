"""A batch's reference figures: from its store, from another batch's, or measured now, once, before any submission.

The figures (``@reference_figure`` in the hidden tests, e.g. the reference
solution's training time) are measured in a sandbox running the reference
solution while the machine is quiet, and kept in the store under
``grading.steps.calibration_key``: the machine's fingerprint, the bundle's
digest and the kernels' tf.data setting. Every grader of the batch judges
against the same figures; a failure is reported once and no grader tries
again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from autograder import intake
from autograder.errors import IntakeError, UsageError
from autograder.grading.notebook import NotebookGrader
from autograder.grading.steps import calibration_key
from autograder.judge.loader import load_hidden
from autograder.results import Bundle, CalibrationFigures
from autograder.store import Store


def calibrate(bundle: Bundle, store: Store, jobs: list[Path] | None, isolate: bool | None, threads: int,
              log: Callable[[str], None], calibration_from: Path | None = None) -> CalibrationFigures | None:
    """The reference figures for this batch: from the store, adopted, or measured now; None without a reference.

    ``jobs`` are the files to grade: when none of them is a gradable
    notebook, nothing is measured. ``calibration_from`` names another results
    folder whose figures (for this machine and bundle) this batch adopts, so
    that two batches, e.g. two sections of one class, are judged against the
    very same figures; ``UsageError`` when it has none.
    """
    if not bundle.reference.exists():
        return None
    key = calibration_key(bundle)
    known = store.calibration(key) or {}
    if calibration_from is not None:
        known = _adopt(calibration_from, key, store, log)
    figures = load_hidden(bundle.spec, bundle.hidden_dir).figures
    missing = [f for f in figures if f not in known]
    if not missing or (jobs is not None and not any(_gradable(path, bundle) for path in jobs)):
        return CalibrationFigures(key, known)
    log(f"calibrating: measuring the reference solution on this machine ({', '.join(missing)}) ...")
    started = time.monotonic()
    with NotebookGrader(bundle, CalibrationFigures(key, known), isolate=isolate, threads=threads) as grader:
        values = grader.calibration.measure_all()
        failure = grader.calibration.failure
    seconds = time.monotonic() - started
    if failure:
        log(f"calibration failed: {failure}; the checks that need it are not graded")
        return CalibrationFigures(key, values, failure)
    store.put_calibration(key, values, seconds)
    log(f"calibrated in {seconds:.0f} s: " + ", ".join(f"{k} = {v:.3g} s" for k, v in sorted(values.items())))
    return CalibrationFigures(key, values)


def _adopt(calibration_from: Path, key: str, store: Store, log: Callable[[str], None]) -> dict[str, float]:
    other = Path(calibration_from) / "gradebook.sqlite"
    if not other.exists():
        raise UsageError(f"--calibration-from {calibration_from}: no gradebook.sqlite there")
    with Store(other) as theirs:
        adopted = theirs.calibration(key)
    if adopted is None:
        raise UsageError(f"--calibration-from {calibration_from}: it holds no reference figures for this "
                         "machine, this build of the assignment and these kernel settings (key "
                         f"{key}); grade without it to measure them")
    store.put_calibration(key, adopted, 0.0)
    log(f"using the reference figures of {calibration_from}: "
        + ", ".join(f"{k} = {v:.3g} s" for k, v in sorted(adopted.items())))
    return adopted


def _gradable(path: Path, bundle: Bundle) -> bool:
    try:
        intake.load(path, bundle.spec.notebook)
        return True
    except IntakeError:
        return False

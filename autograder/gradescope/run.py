"""Grading inside Gradescope's container: one submission into ``results/results.json``, and setup's calibration.

``grade_submission`` is what ``run_autograder`` runs for each submission:

1. the one file to grade is chosen from ``submission/`` (``submission.choose``);
   none, or several that could each be graded, is a score of 0 whose output
   names the files and says what to upload;
2. ``submission_metadata.json`` becomes a one-row roster (id, name, email,
   ``created_at`` as ``submitted_at``, the student's own deadline as ``due``);
3. the reference figures that setup.sh measured (``layout.CACHE``) are put in
   the work folder's store under this machine's calibration key: where this
   machine is the one setup.sh ran on they are used, and where it is not, the
   batch measures the reference now, as any batch does;
4. a batch of one (``batch.run``: the sandbox, the judge, the late policy)
   grades it, and the result's ``to_gradescope()`` is written, its output
   also naming the machine, the sandbox and where the reference figures came from.

Whatever fails on the way, a results.json is written (score 0, the error):
Gradescope shows the student nothing without one.
"""

from __future__ import annotations

import json
import os
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder import batch
from autograder import build as build_mod
from autograder.batch.calibrate import calibrate
from autograder.gradescope import layout
from autograder.gradescope.submission import Choice, Submitter, choose, file_stem, read_metadata, write_roster
from autograder.grading.steps import assemble, calibration_key
from autograder.results import Bundle, CalibrationFigures, GradingResult, Identity, ResultStatus
from autograder.roster import Roster
from autograder.store import Store

#: The folder under Gradescope's root where a grading run keeps its work (the submission's copy, the store,
#: feedback.html and executed.ipynb): left there for whoever debugs the container.
WORK = "dlgrade-work"

Log = Callable[[str], None]


def load_bundle(source: Path) -> tuple[layout.Config, Bundle]:
    """The exported config and the bundle it names, from the unpacked zip ``source``; ``UsageError``/``SpecError``."""
    config = layout.Config.read(source)
    folder = Path(source) / config.bundle
    return config, Bundle(build_mod.load_bundle(folder), folder)


def measure_reference(source: Path, log: Log = print) -> CalibrationFigures | None:
    """Measure the reference solution once into the source folder's cache (setup.sh's last step).

    Figures already there for this machine and bundle are kept. Returns the
    figures (with ``failure`` set where measuring failed: grading then
    measures again), or None for a bundle without a reference solution.
    """
    _, bundle = load_bundle(source)
    cache = Path(source) / layout.CACHE
    with Store(cache) as store:
        figures = calibrate(bundle, store, None, isolate=None, threads=0, log=log)
    if figures is not None and not figures.failure:
        log(f"reference figures for machine {figures.key.split('/')[0]} in {cache}")
    return figures


def grade_submission(root: Path, log: Log = print) -> dict[str, Any]:
    """Grade the submission under Gradescope's ``root`` into ``root/results/results.json``, and return that.

    A crash on the way is written as a failed grading (score 0, the error in
    the output, the traceback in ``extra_data``), never raised; only writing
    results.json itself can raise ``OSError`` (run_autograder then writes one).
    """
    root = Path(root)
    try:
        data = _grade(root, log)
    except BaseException as e:  # whatever it was, Gradescope must get a results.json
        log(traceback.format_exc())
        data = failure(e)
    write_results(root, data)
    return data


def failure(error: BaseException) -> dict[str, Any]:
    """results.json for a grading that broke down: score 0, the error, and that it is not the student's doing."""
    return {"score": 0.0, "tests": [],
            "output": f"grading failed: {type(error).__name__}: {error}\nThis is not about your submission: tell "
                      "the course staff, who can see the log and run the autograder again.",
            "extra_data": {"status": ResultStatus.ERROR.value, "error": f"{type(error).__name__}: {error}",
                           "traceback": traceback.format_exception(error)}}


def write_results(root: Path, data: dict[str, Any]) -> Path:
    """Write ``root/results/results.json`` whole (beside it, then moved in place) and return its path."""
    folder = Path(root) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "results.json"
    tmp = folder / f".results.json.{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(tmp, target)
    return target


def _grade(root: Path, log: Log) -> dict[str, Any]:
    _, bundle = load_bundle(root / "source")
    work = root / WORK
    shutil.rmtree(work, ignore_errors=True)
    (work / "inbox").mkdir(parents=True)
    submitter = read_metadata(root / "submission_metadata.json")
    choice = choose(root / "submission", bundle.spec.notebook)
    if choice.path is None:
        log(f"nothing graded: {choice.problem}")
        return _not_graded(bundle, root, choice, submitter).to_gradescope()
    file, roster = choice.path, None
    if submitter is not None:  # graded as the student Gradescope names, whatever the file is called
        stem = file_stem(submitter.student_id)
        file = Path(shutil.copy2(choice.path, work / "inbox" / f"{stem}{choice.path.suffix.lower()}"))
        write_roster(submitter, stem, work / "roster.csv")
        roster = Roster.load(work / "roster.csv")
    out = work / "out"
    key = calibration_key(bundle)
    cached = _seed(root / "source" / layout.CACHE, out, key, log)
    log(f"grading {choice.path.relative_to(root)} as {submitter.student_id if submitter else 'its file name'}")
    result = _batch_of_one(bundle, file, out, roster, log)
    upload = str(choice.path.relative_to(root / "submission"))
    result.message = result.message.replace(str(file), upload).replace(file.name, upload)  # the name they gave
    data = result.to_gradescope()
    reference = _reference_line(cached, result.calibration, root / "source" / layout.CACHE)
    data["output"] = "\n".join([data["output"], *_context_lines(result, reference, choice, submitter)])
    data["extra_data"]["gradescope"] = {"submission": str(choice.path.relative_to(root / "submission")),
                                        "reference_figures": reference[0], "work": str(work)}
    return data


def _batch_of_one(bundle: Bundle, file: Path, out: Path, roster: Roster | None, log: Log) -> GradingResult:
    """Grade ``file`` as a batch of one into ``out``, and its result.

    The result is stored before the class's reports are written; where writing
    those fails, the stored result still counts (they are of no use here).
    """
    options = batch.GradeOptions(workers=1, roster=roster.source if roster else None)
    try:
        results = batch.run(bundle, [file], out, options, batch.BatchEvents(log=log), roster=roster).new
    except Exception as e:
        with Store(out / "gradebook.sqlite") as store:
            results = [r for r in store.results() if r.source == str(file)]
        if not results:
            raise
        log(f"the batch failed after storing the result ({type(e).__name__}: {e}); the stored result is used")
    if not results:
        raise RuntimeError(f"the batch stored no result for {file.name}")
    return results[0]


def _seed(cache: Path, out: Path, key: str, log: Log) -> dict[str, float] | None:
    """Copy setup.sh's figures for this machine (``key``) into the work store; those figures, or None (none there)."""
    if not cache.is_file():
        return None
    try:
        with Store(cache) as store:
            figures = store.calibration(key)
    except Exception as e:  # a broken cache costs a measurement, never the grade
        log(f"the reference figures setup.sh measured cannot be read ({e}); measuring them now")
        return None
    if figures:
        with Store(out / "gradebook.sqlite") as store:
            store.put_calibration(key, figures, 0.0)
    return figures


def _reference_line(cached: dict[str, float] | None, used: dict[str, float], cache: Path) -> tuple[str, str]:
    """Where the reference figures came from, as a word for extra_data and a line for the student."""
    if not used:
        return "none", "reference figures: none used (no speed check here needs them)"
    if cached is not None and all(cached.get(k) == v for k, v in used.items()):
        return "cache", ("reference figures: from the cache setup.sh measured when the autograder was built, on a "
                         "machine like this one")
    why = ("this machine differs from the one setup.sh measured on" if cache.is_file()
           else "setup.sh measured none")
    return "measured", f"reference figures: measured on this run ({why})"


def _context_lines(result: GradingResult, reference: tuple[str, str], choice: Choice,
                   submitter: Submitter | None) -> list[str]:
    """What the output says besides the score: the machine, the sandbox, the reference figures, the metadata."""
    machine = result.machine or {}
    gpus = machine.get("gpus") or []
    gpu = ", ".join(g.get("name", "?") for g in gpus) if gpus else "no GPU"
    lines = [f"graded on: {machine.get('cpu') or 'an unknown CPU'}, {machine.get('cores') or '?'} cores, {gpu} "
             f"(machine {result.fingerprint or '?'})",
             "sandbox: " + ("not needed: nothing of the upload was run" if not result.isolation
                            else result.isolation if result.isolation == "bubblewrap"
                            else f"NONE, graded unsandboxed ({result.isolation})"),
             reference[1], *choice.notes]
    if submitter is not None:
        lines += list(submitter.notes)
        if submitter.group:
            lines.append(f"group submission: graded once, for {submitter.name or submitter.student_id} and "
                         + ", ".join(submitter.group))
    return lines


def _not_graded(bundle: Bundle, root: Path, choice: Choice, submitter: Submitter | None) -> GradingResult:
    """The result for an upload with nothing to grade, or too much: every question 0, and what to upload."""
    student = file_stem(submitter.student_id) if submitter else "submission"
    who = Identity(name=submitter.name, email=submitter.email, on_roster=True) if submitter else Identity()
    return assemble(bundle.spec, root / "submission", student, ResultStatus.REJECTED, message=choice.problem,
                    identity=who, bundle=bundle.digest)

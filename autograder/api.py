"""The few functions a Python user (and the ``dlgrade`` command) calls."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from autograder import batch, intake
from autograder import build as build_mod
from autograder.execute import NotebookRun
from autograder.grade import Bundle, place_files, place_notebook, public_checks, write_result
from autograder.store import Store
from autograder.results import GradingResult
from autograder.roster import Roster
from autograder.sandbox import Sandbox

SUBMISSION_SUFFIXES = (".ipynb", ".zip")


def build(assignment: str, root: Path | None = None, check: bool = False) -> build_mod.BuildResult:
    return build_mod.build(assignment, root=root, check=check)


def bundle_for(assignment: str, root: Path | None = None, rebuild: bool = True) -> Bundle:
    """The built bundle of an assignment id (built now if missing or older than its sources), or a bundle folder."""
    given = Path(assignment)
    if (given / "assignment.yaml").exists() and (given / "hidden").is_dir() and given.parent.name == "dist":
        return Bundle(build_mod.load_bundle(given), given)
    root = root or build_mod.find_root()
    bundle = root / "dist" / assignment
    sources = [p for d in (root / "assignments" / assignment, root / "solutions" / assignment)
               for p in d.rglob("*") if p.is_file()]
    manifest = bundle / "manifest.json"
    newest = max((p.stat().st_mtime for p in sources), default=0)
    if rebuild and (not manifest.exists() or manifest.stat().st_mtime < newest):
        build_mod.build(assignment, root=root)
    return Bundle(build_mod.load_bundle(bundle), bundle)


def submissions_in(paths: list[Path]) -> list[Path]:
    """Files to grade: the files given, and the notebooks and zips inside folders given."""
    found = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.suffix in SUBMISSION_SUFFIXES and f.is_file())
        else:
            found.append(p)
    return found


def grade(assignment: str | None, submissions: list[Path], out: Path, student: str | None = None,
          root: Path | None = None, isolate: bool | None = None, workers: int | None = None,
          force: bool = False, regrade: tuple[str, ...] = (), scheduler: str | None = None,
          otter_zip: Path | None = None, otter_timeout: float = 600.0, on_result=None,
          log=lambda line: None, on_plan=None, calibration_from: Path | None = None,
          roster: Path | None = None, canvas_column: str | None = None, slots=None) -> batch.BatchReport:
    """Grade files into ``out/<student>/`` and the class reports into ``out``.

    A rerun grades only what is not done (``force`` and ``regrade`` redo work).
    ``workers`` defaults to what the machine's cores and memory allow at the
    spec's memory cap; ``scheduler`` (``tcp://host:8786``) grades on a Dask
    cluster instead. ``otter_zip`` grades a plain Otter assignment with Otter's
    own runner (in our sandbox) instead of a dlgrade assignment.
    ``calibration_from`` adopts another results folder's reference figures.
    ``roster`` (a CSV: a class list or a Canvas gradebook export) maps files to
    students and may carry submission times; ``canvas_column`` names the
    assignment's column in ``canvas_import.csv`` (Canvas's "Name (id)").
    ``slots`` (``batch.shared_slots``) caps the kernels of batches run side by side.
    """
    if otter_zip is not None:
        from autograder.otter_compat import OtterBundle

        bundle = OtterBundle.load(Path(otter_zip), timeout_s=otter_timeout)
    elif assignment is None:
        raise ValueError("name the assignment to grade (or give --otter-zip)")
    else:
        bundle = bundle_for(assignment, root)
    files = submissions_in([Path(s) for s in submissions])
    if student and len(files) != 1:
        raise ValueError("--student names one submission; more than one was given")
    workers = workers if workers and workers > 0 else batch.default_workers(bundle.spec.limits.memory_mb)
    return batch.run(bundle, files, Path(out), workers=workers, scheduler=scheduler, student=student,
                     isolate=isolate, force=force, regrade=tuple(regrade), on_result=on_result, log=log,
                     on_plan=on_plan, calibration_from=calibration_from,
                     roster=Roster.load(Path(roster)) if roster else None, canvas_column=canvas_column,
                     slots=slots)


def report(out: Path) -> list[GradingResult]:
    """Rebuild every report in ``out`` from its gradebook store alone, without grading anything."""
    store_file = Path(out) / "gradebook.sqlite"
    if not store_file.exists():
        raise ValueError(f"{store_file}: no gradebook here; grade into {out} first")
    with Store(store_file) as store:
        results = store.results()
        column = store.get_meta("canvas_column")
    for result in results:
        write_result(result, Path(out))
    batch.write_class_reports(results, Path(out), column)
    return results


@dataclasses.dataclass
class CheckReport:
    questions: dict[str, dict]
    failed_cells: list

    @property
    def all_passed(self) -> bool:
        return bool(self.questions) and all(q["passed"] for q in self.questions.values())


def check(assignment: str, notebook: Path, root: Path | None = None, isolate: bool | None = None) -> CheckReport:
    """Run a notebook's public tests, as ``grader.check`` would in Jupyter, from a terminal."""
    bundle = bundle_for(assignment, root)
    sub = intake.load(notebook, bundle.spec.notebook)
    with Sandbox(bundle.spec.limits, isolate=isolate) as sandbox:
        place_notebook(sandbox, sub.notebook, bundle.spec.notebook)
        place_files(sandbox, bundle.root)
        run = NotebookRun(sub.notebook, sandbox).run_all()
        return CheckReport(public_checks(run, list(bundle.spec.questions)), run.failed_cells())

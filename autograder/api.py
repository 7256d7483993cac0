"""The few functions a Python user (and the ``dlgrade`` command) calls."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from autograder import batch, intake
from autograder import build as build_mod
from autograder.execute import NotebookRun
from autograder.grade import Bundle, place_notebook, public_checks, write_result
from autograder.store import Store
from autograder.results import GradingResult
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


def grade(assignment: str, submissions: list[Path], out: Path, student: str | None = None,
          root: Path | None = None, isolate: bool | None = None, on_result=None, workers: int | None = None,
          force: bool = False) -> list[GradingResult]:
    """Grade files into ``out/<student>/`` and the gradebook in ``out``; a rerun grades only what is not done.

    Returns every stored result in ``out``. ``workers`` defaults to what the
    machine's cores and memory allow at the spec's memory cap.
    """
    bundle = bundle_for(assignment, root)
    files = submissions_in([Path(s) for s in submissions])
    if student and len(files) != 1:
        raise ValueError("--student names one submission; more than one was given")
    workers = workers if workers and workers > 0 else batch.default_workers(bundle.spec.limits.memory_mb)
    return batch.run(bundle, files, out, workers=workers, student=student, isolate=isolate, force=force,
                     on_result=on_result)


def report(out: Path) -> list[GradingResult]:
    """Rebuild every report in ``out`` from its gradebook store alone, without grading anything."""
    store_file = Path(out) / "gradebook.sqlite"
    if not store_file.exists():
        raise ValueError(f"{store_file}: no gradebook here; grade into {out} first")
    with Store(store_file) as store:
        results = store.results()
    for result in results:
        write_result(result, Path(out))
    batch.write_class_reports(results, Path(out))
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
        run = NotebookRun(sub.notebook, sandbox).run_all()
        return CheckReport(public_checks(run, list(bundle.spec.questions)), run.failed_cells())

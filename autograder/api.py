"""The few functions a Python user (and the ``dlgrade`` command) calls: build, handout, grade, report, check.

Grading machinery (sandboxes, kernels, the judge) is imported by the
functions that grade, when they are called: ``report`` reads the gradebook
store and writes files, and loads none of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder import build as build_mod
from autograder import gradebook, intake
from autograder import handout as handout_mod
from autograder.errors import UsageError
from autograder.results import Bundle, GradingResult, Override
from autograder.roster import Roster

if TYPE_CHECKING:
    from autograder.batch import BatchEvents, BatchReport, GradeOptions
    from autograder.similarity import SimilarityReport

SUBMISSION_SUFFIXES = (".ipynb", ".zip")


def build(assignment: str, root: Path | None = None, check: bool = False) -> build_mod.BuildResult:
    """Build one assignment (see ``build.build``); raises ``SpecError`` or ``BuildError``."""
    return build_mod.build(assignment, root=root, check=check)


def handout(assignment: str, out: Path | None = None, root: Path | None = None) -> handout_mod.Handout:
    """Write the zip a course posts for students: the notebook and its data files (see ``handout.make_handout``).

    Raises ``UsageError`` for an unknown assignment or an unwritable ``out``,
    ``BuildError`` for a stale student template or a failed build, ``SpecError`` for a bad spec.
    """
    return handout_mod.make_handout(assignment, out, root=root)


def bundle_for(assignment: str, root: Path | None = None, rebuild: bool = True) -> Bundle:
    """The built bundle of an assignment id (built now if missing or older than its sources), or a bundle folder.

    Raises ``SpecError`` or ``BuildError``.
    """
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


def submissions_in(paths: list[Path], skipped: list[str] | None = None) -> list[Path]:
    """Files to grade: the files given, and the notebooks and zips (any case: ``.IPYNB``) inside folders given.

    What a folder holds besides is not graded, and each entry is said in ``skipped`` (a folder inside is not
    searched: give it as an argument of its own); hidden entries (``.ipynb_checkpoints``, macOS's ``._a1.ipynb``)
    are left out.
    """
    found = []
    for p in paths:
        if not p.is_dir():
            found.append(p)
            continue
        for f in sorted(p.iterdir()):
            if f.name.startswith(".") or f.name == "__MACOSX":  # a checkout's, an editor's or macOS's own
                continue
            if f.suffix.lower() in SUBMISSION_SUFFIXES and f.is_file():
                found.append(f)
            elif skipped is not None:
                skipped.append(f"{f}: a folder, not searched (give it as an argument of its own)" if f.is_dir()
                               else f"{f}: neither a .ipynb notebook nor a .zip")
    return found


def grade(assignment: str | None, submissions: list[Path], out: Path, options: GradeOptions | None = None,
          events: BatchEvents | None = None, root: Path | None = None, otter_zip: Path | None = None,
          otter_timeout: float = 600.0, otter_notebook: str | None = None, slots: Any = None,
          otter_cell_timeout: float | None = None) -> BatchReport:
    """Grade files into ``out/<student>/`` and the class reports into ``out``.

    A rerun grades only what is not done (``options.force`` and
    ``options.regrade`` redo work); see ``batch.GradeOptions`` for the rest.
    ``otter_zip`` grades a plain Otter assignment with Otter's own runner (in
    our sandbox) instead of a dlgrade assignment, each submission within
    ``otter_timeout`` seconds, each of its cells at most ``otter_cell_timeout`` seconds (default: 120 s or
    half of ``otter_timeout``, whichever is less); ``otter_notebook`` names its notebook's file where neither
    the zip's name nor the submissions' ``otter.Notebook("…")`` calls say it. ``slots``
    (``batch.shared_slots``) caps the kernels of batches run side by side. Raises ``UsageError``, ``SpecError``,
    ``BuildError``, ``RosterError``, ``OtterBundleError`` for what cannot be
    graded as asked, and ``StoreError`` when results cannot be stored.
    """
    from autograder import batch
    from autograder.batch.worker import AnyBundle
    from autograder.otter_mode import OtterBundle

    options = options or batch.GradeOptions()
    bundle: AnyBundle
    if otter_zip is not None:
        bundle = OtterBundle.load(Path(otter_zip), notebook_name=otter_notebook, timeout_s=otter_timeout,
                                  cell_timeout_s=otter_cell_timeout)
    elif assignment is None:
        raise UsageError("name the assignment to grade (or give --otter-zip)")
    else:
        bundle = bundle_for(assignment, root)
    skipped: list[str] = []
    files = submissions_in([Path(s) for s in submissions], skipped)
    if options.student and len(files) != 1:
        raise UsageError("--student names one submission; more than one was given")
    roster = Roster.load(options.roster) if options.roster else None
    events = events or batch.BatchEvents()
    for line in skipped:
        events.log(f"not graded: {line}")
    return batch.run(bundle, files, Path(out), options, events, roster=roster, slots=slots)


def report(out: Path, log: Callable[[str], None] = lambda line: None) -> list[GradingResult]:
    """Rebuild every report in ``out`` from its gradebook store alone, without grading anything.

    Scores set by hand (``override``) are applied. ``log`` hears the reports'
    warnings (e.g. two results for one Canvas id). Raises ``UsageError`` when
    ``out`` holds no store.
    """
    return gradebook.rewrite_reports(Path(out), log=log)


def override(out: Path, student: str, target: str, score: float | None = None, comment: str = "",
             by: str | None = None, clear: bool = False,
             log: Callable[[str], None] = lambda line: None) -> tuple[str, Override | None]:
    """Set (or, with ``clear``, take back) a TA's score for a student's question or test; see ``gradebook``.

    ``target`` is ``q3`` or ``q3/test_name``; ``score`` in points. Returns the
    student id as stored and the override as applied (None when cleared).
    Raises ``UsageError`` for what cannot be set as asked.
    """
    if clear:
        return gradebook.clear_override(Path(out), student, target, log), None
    if score is None:
        raise UsageError("give --score POINTS (or --clear to take an override back)")
    return gradebook.set_override(Path(out), student, target, score, comment, by, log)


def overrides(out: Path) -> list[gradebook.OverrideRow]:
    """Every score set by hand in ``out`` (see ``gradebook.list_overrides``)."""
    return gradebook.list_overrides(Path(out))


def similarity(out: Path, template: Path | None = None, threshold: float | None = None, noise: int | None = None,
               root: Path | None = None) -> tuple[SimilarityReport, Path]:
    """Compare the class's answer code and write ``similarity.html`` (see ``similarity.similarity``); the class
    summary is rewritten to link it. Scores never change. Raises ``UsageError``."""
    from autograder import similarity as similarity_mod  # copydetect and pygments: loaded by this command only

    report, page = similarity_mod.similarity(Path(out), template, threshold, noise, root)
    gradebook.rewrite_reports(Path(out), students=())
    return report, page


@dataclasses.dataclass
class CheckReport:
    """What ``dlgrade check`` found: each question's public checks, and the cells that did not run cleanly.

    A question's ``passed`` is None where it has no public tests: nothing to check, never a failure.
    """

    questions: dict[str, dict]
    failed_cells: list

    @property
    def all_passed(self) -> bool:
        """The checks could be run, and none failed (questions without public tests count as none failed)."""
        return bool(self.questions) and all(q["passed"] is not False for q in self.questions.values())


def check(assignment: str, notebook: Path, root: Path | None = None, isolate: bool | None = None) -> CheckReport:
    """Run a notebook's public tests, as ``grader.check`` would in Jupyter, from a terminal.

    Raises ``IntakeError`` for a file that is not a gradable notebook, and
    ``SpecError``/``BuildError`` for an assignment that cannot be built.
    """
    from autograder.execute import NotebookRun
    from autograder.grading.public_checks import public_checks
    from autograder.grading.steps import prepare_sandbox
    from autograder.sandbox.kernel import Sandbox

    bundle = bundle_for(assignment, root)
    sub = intake.load(notebook, bundle.spec.notebook)
    with Sandbox(bundle.spec.limits, isolate=isolate) as sandbox:
        prepare_sandbox(sandbox, sub.notebook, bundle.spec.notebook, bundle.files_dir)
        run = NotebookRun(sub.notebook, sandbox).run_all()
        return CheckReport(public_checks(run, list(bundle.spec.questions), bundle.public_tests), run.failed_cells())


"""A results folder's files: each student's folder, and the class's reports, written from results alone.

``OUT/<student>/`` holds ``results.json`` (Gradescope's format, the whole
result under ``extra_data``), ``feedback.html`` and, where the notebook ran,
``executed.ipynb``; ``OUT`` holds ``gradebook.csv``, ``canvas_import.csv``
and ``summary.html``. ``dlgrade report`` rewrites them all from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat

from autograder.reports.exports import write_canvas_import, write_gradebook
from autograder.reports.pages import write_feedback, write_summary
from autograder.results import GradingResult, ResultStatus, write_json


def write_student_files(result: GradingResult, out: Path,
                        executed: nbformat.NotebookNode | None = None) -> GradingResult:
    """``out/<student>/``: results.json, feedback.html and, where the notebook ran, executed.ipynb."""
    folder = Path(out) / result.student
    folder.mkdir(parents=True, exist_ok=True)
    if executed is not None:
        nbformat.write(executed, str(folder / "executed.ipynb"))
    write_feedback(result, folder / "feedback.html")
    write_json(folder / "results.json", result.to_gradescope())
    return result


def write_class_reports(results: list[GradingResult], out: Path, canvas_column: str | None = None,
                        set_aside: Sequence[tuple[str, str, str, str]] = (), bundle: str = "") -> list[str]:
    """gradebook.csv, canvas_import.csv and summary.html, from every stored result; warnings for the TA.

    ``set_aside``: the files the batch did not grade, (source, student, outcome, reason) each, listed in the
    summary; ``bundle``: the digest of today's bundle, against which results graded with another are stale.
    """
    write_gradebook(results, out / "gradebook.csv", bundle)
    warnings: list[str] = []
    if results:
        column = canvas_column or results[0].assignment
        possible = max(r.possible for r in results)
        # A file the grader could not grade still gets the score a TA set by hand, where one did.
        rows = [(r.identity, r.student, r.final_score if r.status == ResultStatus.GRADED or r.overrides else None)
                for r in results]
        warnings = write_canvas_import(rows, out / "canvas_import.csv", column, possible)
    write_summary(results, out / "summary.html", set_aside, bundle)
    return warnings

"""The class's grades as files other programs read: ``gradebook.csv`` and Canvas's gradebook import.

The naming rules for Canvas follow Canvas's own code (``GradebookExporter``,
``GradebookImporter``), so that the import reads as Canvas expects it.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path

from autograder.errors import UsageError
from autograder.results import GradingResult, Identity


def write_gradebook(results: list[GradingResult], path: Path) -> Path:
    """gradebook.csv: a row per student, a column per question, then the raw score, late penalty and total."""
    questions = sorted({q.name for r in results for q in r.questions}, key=lambda n: (len(n), n))
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", "name", *questions, "raw", "late_penalty", "total", "possible", "percent",
                      "status", "submitted_at"])
        for r in sorted(results, key=lambda r: r.student):
            scores = {q.name: q.score for q in r.questions}
            percent = round(100 * r.final_score / r.possible, 2) if r.possible else 0.0
            submitted = (r.late.submitted_at if r.late else None) or r.submitted_at or ""
            out.writerow([r.student, r.identity.name, *(f"{scores.get(q, 0):g}" for q in questions),
                          f"{r.score:g}", f"{r.penalty:g}", f"{r.final_score:g}", f"{r.possible:g}", percent,
                          r.status, submitted])
    tmp.replace(path)
    return path


CANVAS_IMPORT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# Headers Canvas reads as something other than an assignment.
_CANVAS_RESERVED = re.compile(r"^(Student|LastName|FirstName|ID|SIS User ID|SIS Login ID|Section|Integration ID|"
                              r"Root Account|.*(Current|Final|Override) (Score|Points|Grade|Status).*)$")


def _score_text(value: float | None) -> str:
    """A number as Canvas's export writes it: at most two decimals, no trailing zeros; blank for none."""
    if value is None:
        return ""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _cell(text: str) -> str:
    """Keeps spreadsheet programs from running a name as a formula, the way Canvas's export does."""
    return f'="{text}"' if text.lstrip().startswith("=") else text


def write_canvas_import(rows: Iterable[tuple[Identity, str, float | None]], path: Path | str,
                        assignment_column: str, points_possible: float) -> None:
    """Write the CSV that Canvas's gradebook import accepts, for one assignment.

    ``assignment_column`` is the header Canvas matches, best ``"<title> (<assignment id>)"``
    as in Canvas's own export, e.g. ``"A1 (1234)"``; without the id Canvas
    matches by title, or offers to create a new assignment. Canvas finds each
    student by ID, then SIS User ID (written as the roster's student id), then
    SIS Login ID. A student known by no roster or LMS name gets a row with only their
    graded id, as the name: Canvas lists it as unmatched, for the instructor to
    resolve rather than for this code to guess.
    A score of None leaves the cell blank (Canvas then changes nothing).
    Written to a temporary file and renamed, so a crash never leaves half a file.
    """
    path = Path(path)
    column = assignment_column.strip()
    if not column or _CANVAS_RESERVED.match(column):
        raise UsageError(f"assignment column {assignment_column!r}: Canvas would not read this as an assignment; "
                         "use the assignment's name and Canvas id, e.g. 'A1 (1234)'")
    lines = [[*CANVAS_IMPORT_COLUMNS, column],
             ["    Points Possible", "", "", "", "", _score_text(points_possible)]]
    seen: set[str] = set()
    for who, student_id, score in rows:
        if student_id in seen:
            raise ValueError(f"student {student_id!r} appears twice; give one final score per student")
        seen.add(student_id)
        if who:
            # A student id that is only the login or Canvas id (a Canvas export without
            # SIS ids) is not an SIS User ID; its own column carries it already.
            sis_user_id = "" if student_id in (who.sis_login, who.canvas_id) else student_id
            lines.append([_cell(who.name or student_id), who.canvas_id,
                          sis_user_id, who.sis_login, who.section, _score_text(score)])
        else:
            lines.append([_cell(student_id), "", "", "", "", _score_text(score)])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(lines)
    os.replace(tmp, path)

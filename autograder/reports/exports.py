"""The class's grades as files other programs read: ``gradebook.csv`` and Canvas's gradebook import.

The naming rules for Canvas follow Canvas's own code (``GradebookExporter``,
``GradebookImporter``), so that the import reads as Canvas expects it.

Every cell is written as OWASP's CSV-injection guidance says: a text that a
spreadsheet could run as a formula (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) gets a leading single quote, which
spreadsheets show as text; numbers stay numbers. Roster names and student ids
come from people, and a name like ``=HYPERLINK(...)`` must stay a name.
(defusedcsv, the library for this, leaves a leading tab or carriage return
alone and rewrites ``|`` inside cells, so these few lines do it here.)
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path

from autograder.errors import UsageError
from autograder.results import GradingResult, Identity, ResultStatus

#: OWASP's list of the first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell no spreadsheet runs: a formula-like text gets a leading ``'``; numbers stay."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.match(text):
        return "'" + text
    return text


def _write_rows(path: Path, rows: Iterable[Iterable[object]]) -> None:
    """Every cell made safe; written to a temporary file and renamed, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([safe_cell(cell) for cell in row] for row in rows)
    os.replace(tmp, path)


def write_gradebook(results: list[GradingResult], path: Path, bundle: str = "") -> Path:
    """gradebook.csv: a row per student, a column per question, the raw score, late penalty and total, where
    the submission time came from (``unknown``: no trustworthy time, so no late penalty), the deadline the
    student was held to (``due``; ``extended`` where the roster moved it), why a file was not graded
    (``reason``), and the bundle each result was graded with (``stale``: not ``bundle``, today's). Where a TA
    set scores by hand, the question columns, ``raw`` and ``total`` count them, ``automatic_raw`` is what the
    hidden tests gave and ``overrides`` says each one: target, automatic and set score, who, why."""
    questions = sorted({q.name for r in results for q in r.questions}, key=lambda n: (len(n), n))
    rows: list[list[object]] = [["student", "name", *questions, "raw", "automatic_raw", "late_penalty", "total",
                                 "possible", "percent", "status", "submitted_at", "time_source", "due", "extended",
                                 "reason", "bundle", "stale", "overrides"]]
    for r in sorted(results, key=lambda r: r.student):
        scores = {q.name: q.score for q in r.questions}
        percent = round(100 * r.final_score / r.possible, 2) if r.possible else 0.0
        submitted = (r.late.submitted_at if r.late else None) or ""
        source = r.late.time_source if r.late else ""
        stale = "yes" if bundle and r.bundle != bundle else ""
        by_hand = "; ".join(f"{o.target}: {o.change()} by {o.by}: {o.comment}"
                            for o in r.overrides)
        rows.append([r.student, r.identity.name, *(f"{scores.get(q, 0):g}" for q in questions),
                     f"{r.score:g}", f"{r.automatic_score:g}", f"{r.penalty:g}", f"{r.final_score:g}",
                     f"{r.possible:g}", percent, r.status, submitted, source, r.late.due if r.late else "",
                     "yes" if r.late and r.late.extended else "", r.message if r.status != ResultStatus.GRADED else "",
                     r.bundle[:12], stale, by_hand])
    _write_rows(path, rows)
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


def write_canvas_import(rows: Iterable[tuple[Identity, str, float | None]], path: Path | str,
                        assignment_column: str, points_possible: float) -> list[str]:
    """Write the CSV that Canvas's gradebook import accepts, for one assignment.

    ``assignment_column`` is the header Canvas matches, best ``"<title> (<assignment id>)"``
    as in Canvas's own export, e.g. ``"A1 (1234)"``; without the id Canvas
    matches by title, or offers to create a new assignment. Canvas finds each
    student by ID, then SIS User ID (written as the roster's student id), then
    SIS Login ID. A student known by no roster or LMS name gets a row with only their
    graded id, as the name: Canvas lists it as unmatched, for the instructor to
    resolve rather than for this code to guess.
    A score of None leaves the cell blank (Canvas then changes nothing).
    Canvas takes one row per student: of several results with one Canvas id
    (two files of one student) the first is written and the others left out;
    the warnings returned name them. Raises ``UsageError`` for a column
    Canvas would not read as an assignment.
    """
    path = Path(path)
    column = assignment_column.strip()
    if not column or _CANVAS_RESERVED.match(column):
        raise UsageError(f"assignment column {assignment_column!r}: Canvas would not read this as an assignment; "
                         "use the assignment's name and Canvas id, e.g. 'A1 (1234)'")
    lines = [[*CANVAS_IMPORT_COLUMNS, column],
             ["    Points Possible", "", "", "", "", _score_text(points_possible)]]
    seen: set[str] = set()
    by_canvas_id: dict[str, str] = {}
    warnings = []
    for who, student_id, score in rows:
        if student_id in seen:
            raise ValueError(f"student {student_id!r} appears twice; give one final score per student")
        seen.add(student_id)
        if who.canvas_id and who.canvas_id in by_canvas_id:
            warnings.append(f"canvas_import.csv: {student_id} has the Canvas id {who.canvas_id} of "
                            f"{by_canvas_id[who.canvas_id]}, whose row is written; {student_id}'s is left out")
            continue
        if who.canvas_id:
            by_canvas_id[who.canvas_id] = student_id
        if who:
            # Only a roster's student id is an SIS User ID: not dlgrade's own (``lastfirst_<id>`` from a
            # Canvas name), nor one that is only the login or Canvas id (a Canvas export without SIS ids).
            sis_user_id = "" if not who.on_roster or student_id in (who.sis_login, who.canvas_id) else student_id
            lines.append([who.name or student_id, who.canvas_id,
                          sis_user_id, who.sis_login, who.section, _score_text(score)])
        else:
            lines.append([student_id, "", "", "", "", _score_text(score)])
    _write_rows(path, lines)
    return warnings

"""A results folder as a TA works on it after grading: its reports rewritten, scores set by hand.

An override is a TA's score for one question (``q3``) or one hidden test
(``q3/test_name``) of one student, with who set it, when and why. The store
keeps overrides apart from the results the hidden tests gave, so a rerun,
``--regrade`` or ``--force`` grades afresh and the override still applies,
until it is cleared. Every report shows the automatic score beside it:
``feedback.html``, ``results.json``, ``gradebook.csv`` (``automatic_raw`` and
``overrides`` columns), ``summary.html``; ``canvas_import.csv`` gets the
final score with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import getpass
import math
import os
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

from autograder import overrides
from autograder.errors import UsageError
from autograder.reports.files import write_class_reports, write_student_files
from autograder.results import GradingResult, Override
from autograder.store import Store

#: The longest comment an override keeps, in characters: a reason, not an essay.
MAX_COMMENT = 2000


def rewrite_reports(out: Path, students: Iterable[str] | None = None,
                    log: Callable[[str], None] = lambda line: None) -> list[GradingResult]:
    """Rewrite the reports of ``out`` from its store, overrides applied: the files of ``students`` (None: of
    every student) and the class's. ``log`` hears the warnings (two results for one Canvas id, an override
    that names nothing). Returns every result. Raises ``UsageError`` when ``out`` holds no store."""
    with Store.of_results(out) as store:
        results, unmatched = [], []
        for result in store.results(overridden=False):
            shown, problems = store.overridden(result)
            results.append(shown)
            unmatched += problems
        column = store.get_meta("canvas_column")
        set_aside, bundle = store.set_aside(), store.get_meta("bundle") or ""
        orphans = [f"{student}: has an override of {o.target} but no result in {out}; it is applied to nothing"
                   for student, o, stored in store.override_owners() if stored is None]
    wanted = None if students is None else set(students)
    for result in results:
        if wanted is None or result.student in wanted:
            write_student_files(result, Path(out))
    for line in [*write_class_reports(results, Path(out), column, set_aside, bundle), *unmatched, *orphans]:
        log(line)
    return results


def _same(student_id: str) -> str:
    """An id as compared: case folded, and in one Unicode form (macOS's file names decompose ``ë``, typed ids
    compose it)."""
    return unicodedata.normalize("NFC", student_id).casefold()


def _student(store: Store, student: str, out: Path) -> GradingResult:
    """The stored result of ``student`` (ids that differ only in case are one student); ``UsageError`` if none."""
    results = {r.student: r for r in store.results(overridden=False)}
    wanted = _same(student)
    found = results.get(student) or next((r for s, r in results.items() if _same(s) == wanted), None)
    if found is None:
        close = difflib.get_close_matches(student, list(results), n=3)
        raise UsageError(f"{out}: no result for student {student!r}"
                         + (f"; did you mean {', '.join(close)}?" if close else
                            f" ({len(results)} student(s) here; `dlgrade report {out}` lists them in summary.html)"))
    return found


def _target(result: GradingResult, target: str) -> tuple[str, str, float]:
    """(question, test, most points) that ``target`` names in ``result``; ``UsageError`` naming what exists."""
    question, slash, test = target.strip().partition("/")
    if slash and not test.strip():
        raise UsageError(f"{target!r}: name the test after the slash (q3/test_name), or give the question alone")
    q = next((q for q in result.questions if q.name == question), None)
    if q is None:
        names = ", ".join(q.name for q in result.questions) or "none: it was not graded"
        raise UsageError(f"{result.student} has no question {question!r} (questions: {names})")
    if not test:
        return question, "", q.max_score
    t = next((t for t in q.tests if t.name == test), None)
    if t is None:
        raise UsageError(f"{result.student}'s {question} has no test {test!r} (tests: "
                         f"{', '.join(t.name for t in q.tests) or 'none'}); give the question alone to set its score")
    return question, test, t.max_points


def _no_mixing(existing: list[Override], question: str, test: str, student: str, out: Path) -> None:
    """A question's own score and its tests' scores are not both set by hand: the one would hide the other."""
    clash = [o.target for o in existing if o.question == question and bool(o.test) != bool(test)]
    if clash:
        what = "its tests' scores are" if not test else "the whole question's score is"
        raise UsageError(f"{student}'s {question}: {what} already set by hand ({', '.join(clash)}), and the one "
                         f"would hide the other; clear {'them' if len(clash) > 1 else 'it'} first "
                         f"(dlgrade override {out} {student} {clash[0]} --clear)")


def who() -> str:
    """The TA setting a score: ``$DLGRADE_TA``, else the login name."""
    try:
        return os.environ.get("DLGRADE_TA") or getpass.getuser()
    except (KeyError, OSError):  # no login name in a container without a passwd entry
        return "unknown"


def set_override(out: Path, student: str, target: str, score: float, comment: str, by: str | None = None,
                 log: Callable[[str], None] = lambda line: None) -> tuple[str, Override]:
    """Set ``student``'s score for ``target`` (``q3`` or ``q3/test_name``) by hand, and rewrite the reports.

    ``score`` is in points, from 0 to the question's (or test's) points;
    ``comment`` says why (shown to the student in the feedback). Returns the
    student id as stored and the override as applied (with the automatic
    score it replaces). Raises ``UsageError`` for a folder without a store,
    an unknown student, question or test, a score out of range or an empty
    comment.
    """
    comment = comment.strip()
    if not comment:
        raise UsageError("--comment: say why the score is set by hand (the student sees it in the feedback)")
    if len(comment) > MAX_COMMENT:
        raise UsageError(f"--comment: {len(comment)} characters; at most {MAX_COMMENT}")
    with Store.of_results(out) as store:
        result = _student(store, student, out)
        question, test, most = _target(result, target)
        if not math.isfinite(score) or not 0 <= score <= most:
            raise UsageError(f"--score {score:g}: {result.student}'s {target} is worth 0 to {most:g} points")
        existing = store.overrides(result.student)
        _no_mixing(existing, question, test, result.student, out)
        earlier = next((o for o in existing if (o.question, o.test) == (question, test)), None)
        if earlier is not None:
            log(f"{result.student}: this replaces the override of {earlier.target} by {earlier.by} on "
                f"{earlier.at[:10]} ({earlier.score:g} points: {' '.join(earlier.comment.split())})")
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        override = Override(question=question, test=test, score=float(score), comment=comment,
                            by=who() if by is None else by.strip(), at=at)
        if not override.by:
            raise UsageError("--by: give the name of who sets the score (or leave --by out: $DLGRADE_TA, else "
                             "the login name)")
        store.put_override(result.student, override)
        applied, _ = store.overridden(result)
    rewrite_reports(out, [result.student], log)
    shown = next(o for o in applied.overrides if o.target == override.target)
    return result.student, shown


def clear_override(out: Path, student: str, target: str, log: Callable[[str], None] = lambda line: None) -> str:
    """Take a score set by hand back out (the automatic score counts again) and rewrite the reports.

    Returns the student id as stored. Raises ``UsageError`` where ``student``
    has no override of ``target``.
    """
    question, _, test = target.strip().partition("/")
    with Store.of_results(out) as store:
        known = {s for s, _, _ in store.override_owners()}
        stored = student if student in known else next((s for s in known if _same(s) == _same(student)), student)
        if not store.clear_override(stored, question, test):
            raise UsageError(f"{out}: {student} has no override of {target} (`dlgrade overrides {out}` lists them)")
    rewrite_reports(out, [stored], log)
    return stored


@dataclasses.dataclass
class OverrideRow:
    """One override as ``dlgrade overrides`` lists it: applied (with its automatic score) or why not."""

    student: str
    override: Override
    regraded_since: bool  # the student's result was stored after the override was set: worth a second look
    problem: str = ""  # why it applies to nothing (no result, no such question or test); empty where it applies


def list_overrides(out: Path) -> list[OverrideRow]:
    """Every override in ``out``, by student and target. Raises ``UsageError`` when ``out`` holds no store."""
    rows = []
    with Store.of_results(out) as store:
        results = {r.student: r for r in store.results(overridden=False)}
        for student, o, stored_at in store.override_owners():
            result = results.get(student)
            if result is None:
                rows.append(OverrideRow(student, o, False, "no result for this student"))
                continue
            shown_result, problems = overrides.applied(result, [o])
            shown = next((a for a in shown_result.overrides if a.target == o.target), o)
            rows.append(OverrideRow(student, shown, bool(stored_at and stored_at > o.at),
                                    "; ".join(p.split(": ", 1)[1] for p in problems)))
    return rows

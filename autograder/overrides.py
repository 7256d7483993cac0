"""Scores set by hand, applied to a result and taken back out: how the store shows and keeps a result.

A result is stored as the hidden tests gave it (``automatic``); the overrides
(``results.Override``, kept in the store's own table) are applied each time it
is read (``applied``), so a regrade never loses one. See ``gradebook`` for
setting and listing them.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.results import GradingResult, Override


def applied(result: GradingResult, overrides: list[Override]) -> tuple[GradingResult, list[str]]:
    """A copy of ``result`` with the TA's scores applied, and a line for each one that names nothing in it.

    Tests' overrides go first; a question's own override then sets the
    question's whole score. Each applied override records the automatic
    score it replaces (``Override.automatic``). An override that matches
    nothing (the spec or the tests changed since) is applied to nothing.
    """
    shown = automatic(result)
    unmatched = []
    questions = {q.name: q for q in shown.questions}
    for o in sorted(overrides, key=lambda o: not o.test):
        q = questions.get(o.question)
        test = next((t for t in q.tests if t.name == o.test), None) if q is not None and o.test else None
        if q is None or (o.test and test is None):
            unmatched.append(f"{result.student}: the override of {o.target} names no "
                             f"{'question' if q is None else 'test'} of this result; it is applied to nothing")
        elif test is not None:
            test.override = dataclasses.replace(o, automatic=test.points)
            q.score = round(q.score + o.score - test.points, 6)
            test.points = o.score
        else:
            q.override = dataclasses.replace(o, automatic=q.automatic_score)
            q.score = o.score
    return shown, unmatched


def automatic(result: GradingResult) -> GradingResult:
    """A copy of ``result`` with every score set by hand taken back out: what the hidden tests gave."""
    plain = copy.deepcopy(result)
    for q in plain.questions:
        q.score = q.automatic_score
        q.override = None
        for t in q.tests:
            if t.override is not None and t.override.automatic is not None:
                t.points = t.override.automatic
            t.override = None
    return plain

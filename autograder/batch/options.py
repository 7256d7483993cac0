"""How a batch is asked to grade (``GradeOptions``) and who hears what it does (``BatchEvents``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from autograder.results import GradingResult


@dataclasses.dataclass(frozen=True)
class GradeOptions:
    """The choices a person makes when grading a class (the ``dlgrade grade`` flags).

    ``workers``: graders in parallel (None: what the cores and memory allow).
    ``scheduler``: a Dask scheduler (``tcp://host:8786``) to grade on instead.
    ``student``: the id of a single submission's student.
    ``isolate``: None uses bubblewrap where it works (loudly without), False turns it off, True requires it.
    ``force`` / ``regrade``: grade again what is already graded and unchanged (everyone / these students).
    ``calibration_from``: another results folder whose reference figures this batch adopts.
    ``roster``: a class list or Canvas gradebook export (CSV) mapping files to students.
    ``canvas_column``: the assignment's column in ``canvas_import.csv`` (Canvas's "Name (id)").
    ``keep_stale``: keep results graded with an older bundle (marked stale) instead of grading them again.
    """

    workers: int | None = None
    scheduler: str | None = None
    student: str | None = None
    isolate: bool | None = None
    force: bool = False
    regrade: tuple[str, ...] = ()
    calibration_from: Path | None = None
    roster: Path | None = None
    canvas_column: str | None = None
    keep_stale: bool = False


def _nothing(*args: object) -> None:
    pass


@dataclasses.dataclass(frozen=True)
class BatchEvents:
    """Who hears what a batch does: a line of news, the plan (to grade, kept), each result as it is stored."""

    log: Callable[[str], None] = _nothing
    on_plan: Callable[[int, int], None] = _nothing
    on_result: Callable[[GradingResult], None] = _nothing

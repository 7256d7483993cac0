"""The contract every grader meets: dlgrade's own (``grading.notebook``) and Otter mode's (``otter_mode``).

A batch holds one grader per grading process and hands it one file at a
time; it never needs to know which kind it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from autograder.results import GradingResult
from autograder.spec import Assignment

#: Completes a result before its files are written (a batch: who the student is, the late penalty).
Amend = Callable[[GradingResult], GradingResult]


class Grader(Protocol):
    """Grades submissions of one assignment, one at a time, each in a fresh sandbox."""

    spec: Assignment

    def grade(self, path: Path, out: Path, student: str | None = None, prewarm: bool = False,
              amend: Amend | None = None) -> GradingResult:
        """Grade one file and write ``out/<student>/`` (results.json, feedback.html, ...); the result.

        ``prewarm``: another submission follows, so the grader may start its
        kernel while this one is judged. ``amend`` completes the result before
        its files are written. A submission's faults are in the result; only
        the grader's own faults are raised.
        """
        ...

    def start_ahead(self) -> None:
        """Start the first submission's kernel now, while its job is on its way (a no-op where none is kept)."""
        ...

    def close(self) -> None:
        """Release what the grader holds: kernels started ahead, the reference's sandbox."""
        ...

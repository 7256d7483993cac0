"""Figures measured on the reference solution on this machine (e.g. its training time), which speed checks use.

A batch measures every declared figure (``@reference_figure``) once, at its
start, on a quiet machine, and hands the values to its graders; a figure a
test asks for that was not declared is measured when first needed. Time spent
measuring is never charged to a submission. A reference that cannot be
measured is the reference's fault, never the student's: the checks that need
it are not graded, and say why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from autograder.errors import NotGraded, first_line

if TYPE_CHECKING:
    from autograder.judge.handle import Handle

#: A figure's measurement: ``fn(reference_handle) -> value``.
Measure = Callable[["Handle"], float]


class Calibration:
    """The reference figures one grader judges with, and how to measure one that is missing."""

    def __init__(self, values: dict[str, float] | None = None,
                 start_reference: Callable[[], Handle] | None = None,
                 figures: dict[str, Measure] | None = None, failure: str | None = None):
        self.values: dict[str, float] = dict(values or {})
        self.figures = dict(figures or {})
        self._start_reference = start_reference
        self._handle: Handle | None = None
        #: Why the reference could not be measured (here, or at the batch's start): nothing is measured again.
        self.failure = failure
        self.spent = 0.0  # seconds spent measuring the reference, which no submission's budget pays for

    def get(self, name: str, measure: Measure | None = None) -> float:
        """The figure ``name``, measured now if it is not known; raises ``NotGraded`` where it cannot be."""
        if name not in self.values:
            measure = measure or self.figures.get(name)
            if measure is None:
                raise NotGraded(f"the reference figure {name!r} is not declared by any hidden test file "
                                "(@reference_figure)")
            if self._start_reference is None:
                raise NotGraded("no reference solution is available to calibrate against")
            if self.failure:
                raise NotGraded(self.failure)
            started = time.monotonic()
            try:
                if self._handle is None:
                    self._handle = self._start_reference()
                self.values[name] = float(measure(self._handle))
            except Exception as e:  # the reference's fault, never the student's
                self.failure = f"the reference solution could not be measured here: {first_line(str(e))}"
                raise NotGraded(self.failure) from None
            finally:
                self.spent += time.monotonic() - started
        return self.values[name]

    def measure_all(self) -> dict[str, float]:
        """Every declared figure not yet known; a failure is kept in ``failure``, not raised."""
        for name in self.figures:
            try:
                self.get(name)
            except NotGraded:
                break
        return dict(self.values)

"""Otter's command with a time limit per cell: a script run inside the sandbox, never imported by the grader.

    python launcher.py CELL_TIMEOUT_S RECORD run -a autograder.zip -o OUT -- hw.ipynb

runs Otter's own command line (``otter run ...``, everything after RECORD)
with one change: the ``ExecutePreprocessor`` that ``otter.execute.grade_notebook``
imports when it is called is a subclass of nbconvert's that interrupts a
student's cell after CELL_TIMEOUT_S seconds (nbclient's ``timeout_func`` and
``interrupt_on_timeout``), so that the cells after it and Otter's tests
still run. A student's cell is one the grader marked with
``metadata["dlgrade"]["cell"]``, the student's own number of the cell;
Otter's cells (its set-up, its checks, the last cell that runs every test)
have no limit of their own: the whole run's limit bounds them.

RECORD, a JSON file rewritten as the cells run, says which student cell is
running and since when (``time.time()``), and which cells were stopped at
the limit and after how many seconds; the grader reads it as data. A cell
that catches ``KeyboardInterrupt`` and goes on is interrupted again after
every CELL_TIMEOUT_S until the whole run's limit ends it, and the record
then still names it as running.

The sandbox cannot import ``autograder``: this file uses only the standard
library, nbconvert and Otter.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

#: The cell metadata key where the grader writes the student's number of a cell: ``{"cell": 3}``.
MARK = "dlgrade"


def student_cell(cell: Any) -> int | None:
    """The student's number of a cell the grader marked, else None (a cell Otter added)."""
    mark = cell.get("metadata", {}).get(MARK)
    number = mark.get("cell") if isinstance(mark, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


class Record:
    """What the cells did, as the grader reads it back: kept in ``path``, rewritten at every student cell."""

    def __init__(self, path: str, limit_s: float):
        self.path, self.limit_s = path, limit_s
        self.stopped: list[dict[str, float]] = []  # {"cell": N, "seconds": S} for each cell stopped at the limit
        self.running: int | None = None
        self.since = 0.0  # time.time() when the running cell started
        self._started = 0.0  # time.monotonic() likewise

    def start(self, number: int) -> None:
        self.running, self.since, self._started = number, time.time(), time.monotonic()
        self._write()

    def end(self, number: int, reply: Any) -> None:
        seconds = time.monotonic() - self._started
        content = reply.get("content", {}) if isinstance(reply, dict) else {}
        if content.get("ename") == "KeyboardInterrupt" and seconds >= self.limit_s:
            self.stopped.append({"cell": number, "seconds": round(seconds, 3)})
        self.running = None
        self._write()

    def _write(self) -> None:
        data = {"limit_s": self.limit_s, "stopped": self.stopped, "running": self.running, "since": self.since}
        try:
            with open(self.path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(self.path + ".tmp", self.path)
        except OSError:
            pass  # the notebook's code can spoil the folder; that costs it its notes, never the grading


def limited(base: type, limit_s: float, record: Record) -> type:
    """``base`` (nbconvert's ExecutePreprocessor) with a limit of ``limit_s`` seconds on each student cell.

    Configuration for ``ExecutePreprocessor`` (Otter's ``allow_errors``) still applies: traitlets reads
    the sections of every class the subclass comes from.
    """

    class LimitedExecutePreprocessor(base):
        def __init__(self, **kw: Any):
            super().__init__(**kw)
            self.interrupt_on_timeout = True
            self.timeout_func = self._limit_of
            self.on_cell_execute = self._started
            self.on_cell_executed = self._executed

        @staticmethod
        def _limit_of(cell: Any) -> float | None:
            return limit_s if student_cell(cell) is not None else None

        @staticmethod
        def _started(cell: Any, **_: Any) -> None:
            if (number := student_cell(cell)) is not None:
                record.start(number)

        @staticmethod
        def _executed(cell: Any, execute_reply: Any = None, **_: Any) -> None:
            if (number := student_cell(cell)) is not None:
                record.end(number, execute_reply)

    return LimitedExecutePreprocessor


def main(argv: list[str]) -> None:
    """Run Otter's command line (``argv[2:]``) with a limit of ``argv[0]`` seconds per student cell.

    ``argv[1]`` is the record's path (made absolute here: Otter's runner changes folder). Exits as
    Otter's command exits; raises ``SystemExit`` when the arguments are not as the module's doc says.
    """
    try:
        limit_s, path, otter_args = float(argv[0]), os.path.abspath(argv[1]), argv[2:]
    except (IndexError, ValueError):
        raise SystemExit("usage: launcher.py CELL_TIMEOUT_S RECORD OTTER_ARGUMENTS...") from None
    if not limit_s > 0 or not otter_args:
        raise SystemExit("usage: launcher.py CELL_TIMEOUT_S RECORD OTTER_ARGUMENTS... (a positive limit)")
    import nbconvert.preprocessors
    from otter.cli import cli

    preprocessors: Any = nbconvert.preprocessors
    # grade_notebook imports the name from this module each time it is called: it gets ours.
    preprocessors.ExecutePreprocessor = limited(preprocessors.ExecutePreprocessor, limit_s, Record(path, limit_s))
    cli.main(args=otter_args, prog_name="otter")


if __name__ == "__main__":
    main(sys.argv[1:])

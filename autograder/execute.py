"""Run a submission's cells in a sandboxed kernel, top to bottom, within its limits.

A cell that errors, hangs or kills the kernel costs only what depends on it:
after a timeout, a dead kernel or a cell that ended the kernel (``exit()``),
a fresh kernel replays the cells that had succeeded and execution goes on
with the next cell. A cell that ended the kernel is never run again, and
neither is one that failed. Colab-only lines and package installs are
skipped as ``habits.tolerate`` says, with a note on their cell.
"""

from __future__ import annotations

import copy
import re
import time

import nbformat

from autograder.habits import Definitions, definitions, tolerate
from autograder.results import CellResult, CellStatus
from autograder.sandbox.kernel import Sandbox
from autograder.sandbox.output import CodeRun

#: Cells that only make the submission zip; grading never needs them.
_EXPORT_CALL = re.compile(r"^\s*grader\.export\(", re.MULTILINE)
#: Fresh kernels one submission may use before the rest of it is given up on.
MAX_RESTARTS = 5
#: Characters of outputs kept for the executed notebook, all cells together.
MAX_KEPT_OUTPUT = 40_000_000


class NotebookRun:
    """A notebook executed in a sandbox, kept alive for the judge's questions."""

    def __init__(self, notebook: nbformat.NotebookNode, sandbox: Sandbox):
        self.source = notebook
        self.executed = copy.deepcopy(notebook)
        self.sandbox = sandbox
        self.cells: list[CellResult] = []
        self._good: list[str] = []
        self._ran: dict[int, str] = {}  # cell index -> the source it ran with (Colab-only lines skipped)
        self._definitions: dict[int, Definitions] = {}
        self.seconds = 0.0
        self.deadline_hit = False

    # -- execution ------------------------------------------------------------

    def run_all(self) -> NotebookRun:
        """Every code cell, in order (the ``grader.export()`` cell aside), each recorded in ``cells``."""
        start = time.monotonic()
        deadline = start + self.sandbox.limits.notebook_timeout
        kept = 0
        for index, cell in enumerate(self.executed.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            if not source.strip() or _EXPORT_CALL.search(source):
                continue
            result, run = self._run_cell(index, source, deadline)
            self.cells.append(result)
            if run is None:
                continue
            cell.execution_count = len(self._ran)
            size = sum(len(str(o)) for o in run.outputs)
            if kept + size <= MAX_KEPT_OUTPUT:
                kept += size
                cell.outputs = [nbformat.from_dict(o) for o in run.outputs]
            else:
                cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                                       text="[dlgrade: the notebook's outputs are over their limit]\n")]
        self.seconds = time.monotonic() - start
        return self

    def _run_cell(self, index: int, source: str, deadline: float) -> tuple[CellResult, CodeRun | None]:
        limits = self.sandbox.limits
        tolerated = tolerate(source)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.deadline_hit = True
            return CellResult(index, CellStatus.SKIPPED, message="the notebook's time limit was reached"), None
        if not self.revive(deadline):
            return CellResult(index, CellStatus.SKIPPED,
                              message="the kernel kept dying; later cells were not run"), None
        self._ran[index] = tolerated.source
        run = self.sandbox.run(tolerated.source, timeout=min(limits.cell_timeout, remaining))
        if run.ok:
            self._good.append(tolerated.source)
        message = _cell_message(run, limits.cell_timeout)
        return CellResult(index, run.status, run.seconds, message, notes=tolerated.notes), run

    def revive(self, deadline: float | None = None) -> bool:
        """Make sure a kernel is alive, replaying the cells that had succeeded; False if it cannot."""
        if self.sandbox.alive:
            return True
        if self.sandbox.restarts >= MAX_RESTARTS:
            return False
        self.sandbox.restart()
        for source in self._good:
            budget = self.sandbox.limits.cell_timeout
            if deadline is not None:
                budget = min(budget, deadline - time.monotonic())
            if budget <= 0 or not self.sandbox.run(source, timeout=budget).ok:
                break
        return self.sandbox.alive

    # -- what the judge and the reports need ----------------------------------

    def failed_cells(self) -> list[CellResult]:
        """The cells that did not run cleanly (errors, timeouts, a dead or ended kernel, skipped)."""
        return [c for c in self.cells if c.status != CellStatus.OK]

    def definitions_of(self, cell: CellResult) -> Definitions:
        """The top-level names the cell binds and deletes, as it ran."""
        if cell.index not in self._definitions:
            self._definitions[cell.index] = definitions(self._ran.get(cell.index, ""))
        return self._definitions[cell.index]

    def definers(self, name: str) -> list[CellResult]:
        """The cells that bind ``name`` at their top level (a def, class, assignment or import), in order."""
        return [c for c in self.cells if name in self.definitions_of(c).binds]

    def deleters(self, name: str, after: int = -1) -> list[CellResult]:
        """The cells after cell index ``after`` that delete ``name`` (``del name``)."""
        return [c for c in self.cells if c.index > after and name in self.definitions_of(c).deletes]


def _cell_message(run: CodeRun, cell_timeout: float) -> str:
    if run.status == CellStatus.TIMEOUT:
        return f"stopped after {run.seconds:.0f} s (the limit per cell is {cell_timeout:.0f} s)"
    if run.status == CellStatus.EXITED:
        return ("this cell ends the kernel (exit() or quit()); it is never run again, and what follows ran in "
                "a fresh kernel after the cells before it")
    return run.error_line()

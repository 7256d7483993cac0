"""Run a submission's cells in a sandboxed kernel, top to bottom, within its limits.

A cell that errors, hangs or kills the kernel costs only what depends on it:
after a timeout or a dead kernel, a fresh kernel replays the cells that had
succeeded and execution goes on with the next cell.
"""

from __future__ import annotations

import copy
import re
import time

import nbformat

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
        self.seconds = 0.0
        self.deadline_hit = False

    # -- execution ------------------------------------------------------------

    def run_all(self) -> "NotebookRun":
        limits = self.sandbox.limits
        start = time.monotonic()
        deadline = start + limits.notebook_timeout
        count = 0
        kept = 0
        for index, cell in enumerate(self.executed.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell.execution_count = None
            source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
            if not source.strip() or _EXPORT_CALL.search(source):
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.deadline_hit = True
                self.cells.append(CellResult(index, CellStatus.SKIPPED,
                                             message="the notebook's time limit was reached"))
                continue
            if not self.revive(deadline):
                self.cells.append(CellResult(index, CellStatus.SKIPPED,
                                             message="the kernel kept dying; later cells were not run"))
                continue
            count += 1
            run = self.sandbox.run(source, timeout=min(limits.cell_timeout, remaining))
            cell.execution_count = count
            size = sum(len(str(o)) for o in run.outputs)
            if kept + size <= MAX_KEPT_OUTPUT:
                kept += size
                cell.outputs = [nbformat.from_dict(o) for o in run.outputs]
            else:
                cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                                       text="[dlgrade: the notebook's outputs are over their limit]\n")]
            self.cells.append(CellResult(index, run.status, run.seconds, _cell_message(run, limits.cell_timeout)))
            if run.ok:
                self._good.append(source)
        self.seconds = time.monotonic() - start
        return self

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
        return [c for c in self.cells if c.status != CellStatus.OK]

    def cell_defining(self, name: str) -> CellResult | None:
        """The executed cell whose source defines ``name`` (def, class or assignment), if any."""
        pattern = re.compile(rf"^\s*(?:def|class)\s+{re.escape(name)}\b|^\s*{re.escape(name)}\s*=", re.MULTILINE)
        found = None
        for result in self.cells:
            src = self.executed.cells[result.index].source
            if pattern.search(src if isinstance(src, str) else "".join(src)):
                found = result
        return found


def _cell_message(run: CodeRun, cell_timeout: float) -> str:
    if run.status == CellStatus.TIMEOUT:
        return f"stopped after {run.seconds:.0f} s (the limit per cell is {cell_timeout:.0f} s)"
    return run.error_line()

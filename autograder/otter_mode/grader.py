"""Otter mode's grader: each submission run by Otter's own runner (``otter run``) inside dlgrade's sandbox.

For every submission a fresh ``Sandbox``: the zip and our ``launcher`` in
``in/`` (read-only inside), the notebook in ``work/`` under the assignment's
file name (so that ``otter.Notebook("hw1.ipynb")`` finds a notebook Canvas
renamed), each of its code cells marked with the student's number of it, and
``otter run`` there through the launcher, without Docker, under the
sandbox's limits, the spec's limit per cell (a cell past it is interrupted
and the rest still runs) and a time limit for the whole run. Otter's
``results.json`` and the launcher's record of the cells are read back
without following links and within a size cap; each question's score
becomes one ``TestResult``, each cell stopped at its limit a note (see the
package's docstring for the outcomes).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

from autograder import hardware
from autograder.errors import ErrorKind, SubmissionError
from autograder.grading.contract import Amend
from autograder.grading.steps import assemble, isolation_of, prepare_sandbox, read_submission
from autograder.habits import tolerate
from autograder.otter_mode import launcher
from autograder.otter_mode.bundle import OtterBundle
from autograder.reports.files import write_student_files
from autograder.results import GradingResult, ResultStatus, TestResult, TestStatus
from autograder.roster import parse_lms_name
from autograder.sandbox.files import read_file
from autograder.sandbox.kernel import Sandbox
from autograder.sandbox.output import CommandRun

ZIP_NAME = "autograder.zip"  # in the sandbox's in/
LAUNCHER_NAME = "otter_launcher.py"  # in the sandbox's in/: ``launcher.py``, run there as a script
RESULTS_DIR = "otter-results"  # in the sandbox's work/, where `otter run -o` writes results.json
CELL_RECORD = f"{RESULTS_DIR}/cells.json"  # in work/, where the launcher records the student's cells
MAX_RESULTS_BYTES = 8 * 2**20
MAX_RECORD_BYTES = 64 * 2**10
LAUNCHER = Path(launcher.__file__)
MAX_MESSAGE_CHARS = 4000
#: Otter's names for the results entries that stand in for questions when grading failed.
_OTTER_FAILURES = ("Autograder Error", "Autograder Failed", "Autograder Exception")


class OtterGrader:
    """Grades submissions of one Otter assignment with Otter's runner, each in a fresh sandbox.

    Meets ``grading.contract.Grader``; nothing is held
    between submissions, so ``close`` has nothing to release.
    """

    def __init__(self, bundle: OtterBundle, isolate: bool | None = None, threads: int = 0):
        self.bundle = bundle
        self.spec = bundle.spec
        self.isolate = isolate
        self.threads = threads

    def start_ahead(self) -> None:
        pass  # Otter's runner starts its own kernel in each sandbox

    def close(self) -> None:
        pass

    def __enter__(self) -> "OtterGrader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def grade(self, path: Path, out: Path, student: str | None = None, prewarm: bool = False,
              amend: Amend | None = None) -> GradingResult:
        """Grade one file and write ``out/<student>/``: results.json and feedback.html.

        ``prewarm`` is ignored: Otter's runner starts its own kernel, inside the sandbox.
        ``amend`` completes the result before it is written, as in ``NotebookGrader.grade``.
        """
        started = time.perf_counter()
        sub = read_submission(self.spec, path, student)
        if isinstance(sub, GradingResult):
            return _write(sub, out, started, amend)
        name = self.spec.notebook or notebook_name_of(sub.notebook, path)
        sandbox = Sandbox(self.spec.limits, isolate=self.isolate, threads=self.threads)
        graded, notes = as_graded(sub.notebook)
        try:
            prepare_sandbox(sandbox, graded, name, inbox={ZIP_NAME: self.bundle.zip_path, LAUNCHER_NAME: LAUNCHER},
                            folders=(RESULTS_DIR,))
            wall_start = time.time()
            run = sandbox.run_command(
                [sys.executable, str(sandbox.inbox / LAUNCHER_NAME), f"{self.spec.limits.cell_timeout!r}",
                 str(sandbox.workdir / CELL_RECORD), "run", "--no-logo", "-a", str(sandbox.inbox / ZIP_NAME),
                 "-o", RESULTS_DIR, "--", name],
                timeout=self.spec.limits.notebook_timeout,
            )
            cells = read_cell_log(sandbox.workdir, self.spec.limits.cell_timeout, ended=wall_start + run.seconds)
            raw, problem = read_results(sandbox.workdir)
            isolation, limits = isolation_of(sandbox)
            gpu = sandbox.gpu and hardware.has_gpu()
        finally:
            sandbox.close()
        status, tests, message = outcome(self.bundle, run, raw, problem, cells)
        result = assemble(self.spec, path, sub.student, status, submission=sub, tests=tests, message=message,
                          isolation=isolation, limits=limits, gpu=gpu, seconds={"otter": run.seconds},
                          notes=[*sub.notes, *notes, *cells.notes()])
        return _write(result, out, started, amend)


#: Cells around the notebook's own: Otter's last cell finds the tests by paths relative to the folder the kernel
#: started in, so a notebook that moved with ``os.chdir`` is brought back before it.
_REMEMBER_FOLDER = "import os as __dlgrade_os\n__dlgrade_started_in = __dlgrade_os.getcwd()"
_BACK_TO_FOLDER = "__dlgrade_os.chdir(__dlgrade_started_in)"


def as_graded(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """A copy of ``notebook`` as Otter's runner gets it, and a note for each line skipped.

    Colab-only lines and package installs are skipped as in dlgrade's own mode (``habits.tolerate``), each
    code cell carries the student's number of it (``metadata["dlgrade"]["cell"]``, counting every cell from
    1) for the launcher's limit per cell, and the copy ends in the folder it started in, whatever its cells
    did with ``os.chdir``.
    """
    out, notes = nbformat.from_dict(notebook), []
    for number, cell in enumerate(out.cells, 1):
        if cell.cell_type == "code":
            tolerated = tolerate(cell.source)
            cell.source = tolerated.source
            cell.metadata[launcher.MARK] = {"cell": number}
            notes += [f"cell {number}: {note}" for note in tolerated.notes]
    out.cells = [nbformat.v4.new_code_cell(_REMEMBER_FOLDER), *out.cells, nbformat.v4.new_code_cell(_BACK_TO_FOLDER)]
    return out, notes


#: The notebook's own name, as its ``otter.Notebook("hw1.ipynb")`` cell gives it.
_OTTER_NOTEBOOK = re.compile(r"""otter\.Notebook\(\s*(?:nb_path\s*=\s*)?["']([^"'/\\]+\.ipynb)["']""")


def notebook_name_of(notebook: nbformat.NotebookNode, path: Path) -> str:
    """The assignment's notebook file name as a submission says it: its ``otter.Notebook("…")`` call, else its
    file's own name (Canvas's ``lastfirst_<ids>_`` prefix and ``-1`` suffix taken off), else ``notebook.ipynb``."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and (found := _OTTER_NOTEBOOK.search(cell.source)):
            return found[1]
    lms = parse_lms_name(path.name)
    name = lms.original_name if lms else path.name
    return name if name.endswith(".ipynb") and not name.startswith(".") else "notebook.ipynb"


def _write(result: GradingResult, out: Path, started: float, amend: Amend | None) -> GradingResult:
    result.seconds["total"] = time.perf_counter() - started
    return write_student_files(amend(result) if amend else result, out)


def read_results(workdir: Path) -> tuple[bytes | None, str]:
    """Otter's results.json from the sandbox, or None and why it cannot be read ("" when simply missing).

    Through descriptors opened without following links, within ``MAX_RESULTS_BYTES``.
    """
    try:
        return read_file(workdir, f"{RESULTS_DIR}/results.json", MAX_RESULTS_BYTES), ""
    except SubmissionError as e:
        return None, "" if e.kind == ErrorKind.MISSING else str(e)


@dataclasses.dataclass(frozen=True)
class CellLog:
    """What the launcher recorded of the student's cells (see ``launcher``), read as data from the sandbox.

    Cells are the student's numbers (every cell counted from 1); seconds are as the launcher measured them.
    """

    limit_s: float  # the limit per cell
    stopped: tuple[tuple[int, float], ...] = ()  # (cell, seconds) of each cell interrupted at the limit
    running: int | None = None  # the cell that was running when the run ended (killed, or its kernel died)
    running_s: float = 0.0  # how long it had run then

    def notes(self) -> list[str]:
        """One note for each cell stopped at the limit, as dlgrade's own mode words it."""
        return [f"cell {cell}: stopped after {seconds:.0f} s (the limit per cell is {self.limit_s:g} s); the cells "
                "after it and Otter's tests still ran" for cell, seconds in self.stopped]

    def running_cell(self) -> str:
        """Which cell was running when the run ended, and whether it had gone on past its limit; "" if none."""
        if self.running is None:
            return ""
        if self.running_s > self.limit_s + 1:  # an interrupt lands within a second unless the code catches it
            return (f"cell {self.running} was still running after it was interrupted at the {self.limit_s:g} s limit "
                    "per cell (code that catches KeyboardInterrupt goes on)")
        return f"cell {self.running} was running"


def read_cell_log(workdir: Path, limit_s: float, ended: float) -> CellLog:
    """The launcher's record of the cells in the sandbox's ``workdir``; ``ended`` is ``time.time()`` at the
    run's end, for how long the cell then running had run. A record that is missing, a link, oversized or
    malformed (the notebook's code can write there) is read as an empty one; nothing is raised."""
    try:
        data = json.loads(read_file(workdir, CELL_RECORD, MAX_RECORD_BYTES))
    except (SubmissionError, ValueError, UnicodeDecodeError):
        return CellLog(limit_s)
    if not isinstance(data, dict):
        return CellLog(limit_s)
    entries = data.get("stopped")
    stopped = tuple((e["cell"], float(e["seconds"])) for e in (entries if isinstance(entries, list) else [])
                    if isinstance(e, dict) and _cell_number(e.get("cell")) and _number(e.get("seconds")))
    running, since = data.get("running"), data.get("since")
    if not (_cell_number(running) and isinstance(since, (int, float)) and _number(since)):
        return CellLog(limit_s, stopped)
    return CellLog(limit_s, stopped, running, max(ended - since, 0.0))


def outcome(bundle: OtterBundle, run: CommandRun, raw: bytes | None, problem: str = "",
            cells: CellLog | None = None) -> tuple[ResultStatus, list[TestResult], str]:
    """Status, tests and message of a graded submission from Otter's run, results.json and the launcher's record
    of the cells (``cells``, which names the cell that was running when the run was killed or its kernel died);
    see the module doc."""
    rejected = ResultStatus.REJECTED
    running = cells.running_cell() if cells is not None else ""
    if run.timed_out:
        return rejected, [], (f"ran past the {bundle.spec.limits.notebook_timeout:g} s time limit; not graded"
                              + (f": {running}" if running else ""))
    if problem:
        return rejected, [], f"{problem}; not graded"
    if raw is None:
        if "DeadKernelError" in run.output:
            where = f"it ({running})" if running else "it"
            return rejected, [], (f"the notebook's kernel died while Otter ran {where} (the code exited or killed "
                                  "its process); not graded")
        return ResultStatus.ERROR, [], (f"Otter's runner wrote no results (exit code {run.returncode}): "
                                        f"{_last_lines(run.output)}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        return rejected, [], f"Otter's results.json is not valid JSON ({e}); not graded"
    entries = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return rejected, [], "Otter's results.json has no list of tests; not graded"
    by_name = {e["name"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}
    scored = {q: e for q, e in by_name.items() if q in bundle.spec.questions and _number(e.get("score"))}
    if not scored:
        failures = [str(by_name[n].get("output", ""))[:MAX_MESSAGE_CHARS] for n in _OTTER_FAILURES if n in by_name]
        if failures:
            return rejected, [], "Otter could not grade this submission: " + "\n\n".join(failures)
        return rejected, [], "Otter's results.json scores none of this assignment's questions; not graded"
    return ResultStatus.GRADED, [_question_result(bundle, q, scored.get(q)) for q in bundle.spec.questions], ""


def _question_result(bundle: OtterBundle, q: str, entry: dict | None) -> TestResult:
    """One question's score as Otter's results.json gives it (``entry``), clamped to its points."""
    question = bundle.spec.questions[q]
    hidden = any(c.hidden for c in bundle.cases[q])
    if entry is None:
        return TestResult(question=q, name=q, points=0.0, max_points=question.points, status=TestStatus.FAILED,
                          hidden=hidden, message="Otter's results.json has no score for this question")
    reported = float(entry["score"])
    score = min(max(reported, 0.0), question.points)
    notes = []
    if score != reported:
        notes.append(f"Otter reported {reported:g} points, outside 0..{question.points:g}; counted as {score:g}")
    if _number(entry.get("max_score")) and abs(float(entry["max_score"]) - question.points) > 1e-6:
        notes.append(f"Otter's max_score {float(entry['max_score']):g} differs from the {question.points:g} "
                     "points of the zip's tests, which count")
    return TestResult(
        question=q, name=q, points=score, max_points=question.points,
        status=TestStatus.PASSED if score >= question.points - 1e-9 else TestStatus.FAILED, hidden=hidden,
        message=str(entry.get("output", ""))[:MAX_MESSAGE_CHARS], notes=notes,
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _cell_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _last_lines(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])[-MAX_MESSAGE_CHARS:]

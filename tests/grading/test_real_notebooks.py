"""Real notebooks graded whole: as every tool saves them, and with the habits students really have.

One class of ``mini`` submissions, each the reference solution saved by one
tool or changed by one habit (``exit()`` as a last cell, ``os.chdir``,
Colab's magics, a package the grader lacks, a deleted helper, ...), graded
as one batch in real sandboxed kernels. Each right answer is an assertion:
the score a student deserves, and messages that point at the cause.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
import saved_as
import yaml
from support import COURSE

from autograder import api, batch
from autograder.results import CellStatus, GradingResult

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel]

#: The reference's cells (mini): 0 otter init, 2 imports, 4 scale, 5 check q1, 7 build_model, 9 fast_sum,
#: 10 check q3, 12 save_scaled, 15 export.
IMPORTS, SCALE, FAST_SUM, CHECK_Q3 = 2, 4, 9, 10

SLOW_SUM = "def fast_sum(x):\n    total = 0.0\n    for v in np.ravel(x):\n        total += float(v)\n    return total"


def _with(nb: nbformat.NotebookNode, at: int, source: str) -> nbformat.NotebookNode:
    """The notebook with a new code cell at position ``at``."""
    nb = nbformat.from_dict(nb)
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


def _replaced(nb: nbformat.NotebookNode, index: int, source: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    nb.cells[index].source = source
    return nb


def _habits(ref: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    imports = ref.cells[IMPORTS].source
    return {
        "exit_last": _with(ref, len(ref.cells), "# free the GPU\nexit()"),
        "exit_midway": _with(ref, SCALE + 1, "exit()"),
        "quit_midway": _with(ref, SCALE + 1, "quit()"),
        "os_exit_midway": _with(ref, SCALE + 1, "import os\nos._exit(0)"),
        "signal_midway": _with(ref, SCALE + 1, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        "sys_exit_midway": _with(ref, SCALE + 1, "import sys\nsys.exit(0)"),
        "chdir": _replaced(ref, IMPORTS, imports + "\nos.makedirs('outputs', exist_ok=True)\nos.chdir('outputs')"),
        "colab_habits": _replaced(ref, IMPORTS, "%tensorflow_version 2.x\n" + imports
                                  + "\nfrom google.colab import drive\ndrive.mount('/content/drive')"
                                  + "\n!pip install -q tensorflow==2.15"),
        "unknown_magic": _replaced(ref, IMPORTS, "%not_a_magic_anywhere\n" + imports),
        "missing_package": _replaced(ref, IMPORTS, "import a_package_the_grader_lacks\n" + imports),
        "deleted_helper": _replaced(ref, SCALE, "def scale(x, factor):\n    return _times(np.asarray(x), factor)"),
        "redefined_slow": _with(ref, CHECK_Q3 + 1, SLOW_SUM),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, GradingResult]:
    # mini with TensorFlow preloaded, so that forked kernels start with it and two dozen notebooks grade fast.
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE, root, dirs_exist_ok=True)
    spec_file = root / "assignments" / "mini" / "assignment.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    spec["preload"] = ["numpy", "tensorflow", "otter"]
    spec_file.write_text(yaml.safe_dump(spec))
    bundle = api.bundle_for("mini", root)
    ref = nbformat.read(bundle.reference, 4)
    folder = tmp_path_factory.mktemp("class")
    for tool, save in saved_as.SAVERS.items():
        (folder / f"{tool}.ipynb").write_bytes(save(ref))
    for habit, nb in _habits(ref).items():
        nbformat.write(nb, folder / f"{habit}.ipynb")
    report = batch.run(bundle, api.submissions_in([folder]), tmp_path_factory.mktemp("out"),
                       batch.GradeOptions(workers=2))
    return {r.student: r for r in report.results}


def _cell(result: GradingResult, index: int):
    return next(c for c in result.cells if c.index == index)


def _public_passed(result: GradingResult) -> bool:
    """Otter's public checks of the questions that have them (q1, q3) passed where the grader ran them."""
    return all(q.public is not None and q.public["passed"] for q in result.questions if q.name in ("q1", "q3"))


def _messages(result: GradingResult) -> list[str]:
    return [t.message for q in result.questions for t in q.tests if t.status == "failed"]


@pytest.mark.parametrize("tool", sorted(saved_as.SAVERS))
def test_every_tools_notebook_gets_full_marks(graded, tool):
    result = graded[tool]
    assert (result.status, result.score, result.possible) == ("graded", 7, 7), result.message
    assert _public_passed(result)


@pytest.mark.parametrize("habit", ["exit_last", "exit_midway", "quit_midway"])
def test_a_cell_that_ends_the_kernel_is_named_and_costs_nothing(graded, habit):
    result = graded[habit]
    assert result.score == 7, _messages(result)
    [ended] = [c for c in result.cells if c.status != CellStatus.OK]
    assert ended.status == CellStatus.EXITED and "ends the kernel" in ended.message
    assert _public_passed(result), [q.public for q in result.questions]  # run in a revived kernel after a last exit()
    if habit != "exit_last":  # what follows it ran, in a fresh kernel
        assert all(c.status == CellStatus.OK for c in result.cells if c.index > ended.index)


@pytest.mark.parametrize("habit", ["os_exit_midway", "signal_midway"])
def test_a_cell_that_kills_the_kernel_is_named_and_later_cells_still_count(graded, habit):
    result = graded[habit]
    assert result.score == 7, _messages(result)
    [died] = [c for c in result.cells if c.status != CellStatus.OK]
    assert died.status == CellStatus.DIED and died.index == SCALE + 1


def test_sys_exit_is_an_error_in_its_cell_only(graded):
    result = graded["sys_exit_midway"]
    assert result.score == 7
    [cell] = [c for c in result.cells if c.status != CellStatus.OK]
    assert cell.status == CellStatus.ERROR and "SystemExit" in cell.message


def test_os_chdir_does_not_move_where_the_grader_looks(graded):
    result = graded["chdir"]
    assert result.score == 7, _messages(result)
    assert _public_passed(result), [q.public for q in result.questions]


def test_colab_only_lines_are_skipped_with_a_note(graded):
    result = graded["colab_habits"]
    assert result.score == 7, _messages(result)
    notes = " ".join(_cell(result, IMPORTS).notes)
    for line in ("%tensorflow_version 2.x", "from google.colab import drive", "drive.mount", "!pip install"):
        assert line in notes
    assert _cell(result, IMPORTS).status == CellStatus.OK


def test_a_cell_ipython_aborts_is_failed_and_named(graded):
    result = graded["unknown_magic"]
    cell = _cell(result, IMPORTS)
    assert cell.status == CellStatus.ERROR and "UsageError" in cell.message and "not_a_magic_anywhere" in cell.message
    assert result.score == 2  # only q2, which imports what it needs itself


def test_a_failed_import_is_named_with_its_cell_and_package(graded):
    result = graded["missing_package"]
    assert result.score == 2
    messages = _messages(result)
    assert messages and all("cell 3" in m and "a_package_the_grader_lacks" in m for m in messages), messages
    assert not any("later code removed it" in m for m in messages)
    assert "`scale` needs `np`, which is not defined: cell 3, which imports it, failed" in " ".join(messages)


def test_a_missing_helper_is_named_not_the_function_that_calls_it(graded):
    result = graded["deleted_helper"]
    assert result.score == 5
    messages = [t.message for t in result.questions[0].tests]
    assert all("`scale` needs `_times`, which is not defined in your notebook" in m for m in messages), messages


def test_a_function_redefined_later_names_the_cell_that_counted(graded):
    result = graded["redefined_slow"]
    assert result.score == 6
    [slow] = [t for q in result.questions for t in q.tests if t.status == "failed"]
    assert slow.name == "much_faster_than_a_loop"
    assert any(f"`fast_sum` is defined in cell {FAST_SUM + 1} and again in cell {CHECK_Q3 + 2}" in n
               for n in slow.notes), slow.notes


def test_the_feedback_names_the_cells_and_the_files_notes(graded):
    from autograder.reports import feedback_html

    page = feedback_html(graded["colab"])
    assert "saved as nbformat 4.0" in page
    page = feedback_html(graded["exit_midway"])
    assert f"cell {SCALE + 2}" in page and "exited" in page


def test_results_keep_the_notes_across_the_store(graded):
    result = graded["colab_habits"]
    again = GradingResult.from_dict(result.to_dict())
    assert again.cells == result.cells and again.notes == result.notes


def test_nothing_else_changed_the_cells_that_ran(graded):
    """The reference's cells ran as written: only the habits' lines were changed, and each says so."""
    for name, result in graded.items():
        for cell in result.cells:
            if cell.notes:
                assert name in ("colab_habits",), (name, cell.index, cell.notes)


def test_the_fixture_files_are_what_each_tool_writes():
    ref = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert b'"nbformat_minor": 0' in saved_as.colab(ref) and b'"id"' in saved_as.colab(ref)  # Colab's own ids
    assert b'"nbformat_minor": 2' in saved_as.vscode(ref) and b'"id"' not in saved_as.vscode(ref)

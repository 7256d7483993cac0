"""a1's correct solution as a student really hands it in: saved by Colab, with Colab's habits, ending in exit().

Graded against the demo's reference figures (as a second section would be),
two submissions side by side: every habit at once gets the solution's 18/18;
a package the grader lacks costs what depends on it, and every message says
which cell failed to import what.
"""

from __future__ import annotations

import nbformat
import pytest
import saved_as
from support import ROOT

from autograder import api, batch
from autograder.results import CellStatus

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel, pytest.mark.training]

IMPORTS = 2  # the solution's imports cell: "cell 3"


@pytest.fixture(scope="module")
def graded(demo_results, tmp_path_factory):
    demo_out, _ = demo_results
    solution = nbformat.read(ROOT / "assignments" / "a1" / "examples" / "solution.ipynb", 4)
    folder = tmp_path_factory.mktemp("real-a1")
    habits = nbformat.from_dict(solution)
    habits.cells[IMPORTS].source = ("%tensorflow_version 2.x\n" + habits.cells[IMPORTS].source
                                    + "\nfrom google.colab import drive\ndrive.mount('/content/drive')"
                                    + "\n!pip install -q otter-grader"
                                    + "\nos.makedirs('outputs', exist_ok=True)\nos.chdir('outputs')")
    habits.cells.append(nbformat.v4.new_code_cell("# free the GPU for the next notebook\nexit()"))
    (folder / "colab_habits.ipynb").write_bytes(saved_as.colab(habits))
    missing = nbformat.from_dict(solution)
    missing.cells[IMPORTS].source = "import a_package_the_grader_lacks\n" + missing.cells[IMPORTS].source
    (folder / "missing_package.ipynb").write_bytes(saved_as.vscode(missing))
    options = batch.GradeOptions(workers=2, calibration_from=demo_out)
    report = api.grade("a1", [folder], tmp_path_factory.mktemp("out"), options, root=ROOT)
    return {r.student: r for r in report.results}


def test_colab_download_with_every_habit_gets_full_marks(graded):
    result = graded["colab_habits"]
    failed = [f"{t.question}/{t.name}: {t.message}" for q in result.questions for t in q.tests if t.status != "passed"]
    assert result.score == 18, failed
    assert "saved as nbformat 4.0" in " ".join(result.notes)
    imports = next(c for c in result.cells if c.index == IMPORTS)
    assert imports.status == CellStatus.OK and len(imports.notes) == 4, imports.notes
    last = result.cells[-1]
    assert last.status == CellStatus.EXITED and "ends the kernel" in last.message
    # q6 and q7 wrote their files relative to the notebook's folder, whatever os.chdir said.
    assert all(t.status == "passed" for q in result.questions if q.name in ("q6", "q7") for t in q.tests)


def test_a_failed_import_is_the_message_not_a_vanished_function(graded):
    result = graded["missing_package"]
    assert result.score <= 2
    undefined = [t.message for q in result.questions for t in q.tests if "not defined" in t.message]
    assert len(undefined) >= 10
    unclear = [m for m in undefined if not ("cell 3, which imports it, failed" in m
                                            and "a_package_the_grader_lacks" in m)]
    assert not unclear, unclear  # a class whose cell failed for want of `keras` is traced to cell 3 too
    assert not any("later code removed it" in t.message for q in result.questions for t in q.tests)

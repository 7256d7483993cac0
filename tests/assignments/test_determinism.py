"""The same grade every time: examples of a2 and a3 graded a second time, and compared (a1's: in tests/ta).

The second grading adopts the demo's reference figures (``calibration_from``),
as a second section of the same class would: the two gradings then share
everything but the grading itself (fresh kernels, fresh trainings from the
judge's seeds, fresh speed measurements). Every question's score and every
hidden test's verdict must be the same.
"""

from __future__ import annotations

import concurrent.futures

import pytest
from support import ROOT

from autograder import api, batch, hardware
from autograder import results as results_mod

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel, pytest.mark.training]

# a1's second grading is chen's, on Gradescope against the batch's (tests/ta/test_ta_tools.py).
ASSIGNMENTS = ("a2", "a3")


@pytest.fixture(scope="module")
def graded_twice(demo_run, tmp_path_factory):
    """assignment -> (the demo's results folder, a second grading's results folder)."""
    demo_out, _ = demo_run
    again = tmp_path_factory.mktemp("again")
    slots = batch.shared_slots(max(1, hardware.machine().get("cores") or 1))

    def grade(assignment: str):
        files = [ROOT / "assignments" / assignment / "examples" / f"{name}.ipynb" for name in _examples(assignment)]
        roster = ROOT / "assignments" / assignment / "examples" / "roster.csv"
        options = batch.GradeOptions(calibration_from=demo_out / assignment, roster=roster if roster.exists() else None)
        return api.grade(assignment, files, again / assignment, options, root=ROOT, slots=slots)

    with concurrent.futures.ThreadPoolExecutor(len(ASSIGNMENTS)) as pool:
        for report in pool.map(grade, ASSIGNMENTS):
            assert report.new and all(r.status == "graded" for r in report.new)
    return {a: (demo_out / a, again / a) for a in ASSIGNMENTS}


def _examples(assignment: str) -> list[str]:
    """The examples graded twice: the reference, where every threshold (speed and accuracy included) is met by
    a margin that noise would eat into. A wrong example's verdicts are far from its thresholds; the fairness
    example's tests are the reference's, graded once more in the demo."""
    return ["solution"]


def verdicts(result) -> dict:
    return {"score": result.score,
            **{q.name: (q.score, tuple((t.name, t.status, t.points) for t in q.tests)) for q in result.questions}}


def test_examples_of_a2_and_a3_get_the_same_grade_twice(graded_twice):
    differ, graded, questions = [], 0, 0
    for assignment, (first, second) in graded_twice.items():
        for student in _examples(assignment):
            one = results_mod.read(first / student / "results.json")
            two = results_mod.read(second / student / "results.json")
            graded += 1
            questions += len(one.questions)
            if verdicts(one) != verdicts(two):
                differ.append((f"{assignment}/{student}", verdicts(one), verdicts(two)))
    print(f"determinism: {graded} submissions graded twice, {questions} questions compared, {len(differ)} differ")
    assert graded == len(ASSIGNMENTS) and not differ, differ

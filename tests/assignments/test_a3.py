"""a3 (image data) graded end to end by the demo: image folders in the sandbox, real loaders, a real CNN."""

import pytest
from support import assert_fails_exactly

from autograder import results as results_mod

pytestmark = pytest.mark.slow

EXAMPLES = ["solution", "template", "wrong_order_reshuffle_label_valgen_lastbatch_epochs",
            "wrong_silent_apart_range_noshuffle_cap", "wrong_loop_updown_unfitted",
            "fair_unusual_style"]


def test_the_examples_are_the_ones_expected(a3_expected):
    assert sorted(a3_expected) == sorted(EXAMPLES)
    mistakes = [m for e in a3_expected.values() for m in e.get("mistakes", [])]
    assert len(mistakes) == len(set(mistakes)) >= 10


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_fails_exactly_the_tests_it_should(demo_a3, a3_expected, name):
    out, stdout = demo_a3
    assert_fails_exactly(results_mod.read(out / name / "results.json"), a3_expected[name]["fails"])
    assert str(out / name / "feedback.html") in stdout


def test_solution_full_marks_template_zero_and_quickly(demo_a3):
    out, stdout = demo_a3
    solution = results_mod.read(out / "solution" / "results.json")
    template = results_mod.read(out / "template" / "results.json")
    assert solution.score == solution.possible == 21 and "solution: 21 / 21" in stdout
    assert template.score == 0
    # Nothing to train: the template costs a fraction of the solution (ratios, not seconds: shared machines).
    assert template.seconds["total"] < 0.6 * solution.seconds["total"], (template.seconds, solution.seconds)


def _test(result, name):
    return next(t for q in result.questions for t in q.tests if t.name == name)


def test_pose_feedback_shows_a_confusion_matrix_not_the_hidden_faces(demo_a3):
    """The spec leaves show_misclassified off: the matrix is shown, no hidden image is."""
    out, _ = demo_a3
    result = results_mod.read(out / "solution" / "results.json")
    confusion = [p for p in result.plots if p.kind == "confusion"]
    assert len(confusion) == 1 and confusion[0].question == "q6"
    matrix = confusion[0].matrix
    assert confusion[0].labels == ["front", "half_left", "half_right", "left", "right"]
    assert sum(map(sum, matrix)) == 1000  # every hidden face, once
    assert sum(matrix[i][i] for i in range(5)) / 1000 >= 0.7
    assert not [p for p in result.plots if p.kind == "images"]
    html = (out / "solution" / "feedback.html").read_text()
    assert html.count("data:image/png;base64,") >= 1
    note = " ".join(_test(result, "accuracy_on_hidden_faces").notes)
    assert "accuracy per seed" in note and "needed 0.7" in note


def test_a_weak_cnn_fails_on_accuracy_and_a_loop_loader_on_speed(demo_a3):
    out, _ = demo_a3
    weak = results_mod.read(out / "wrong_order_reshuffle_label_valgen_lastbatch_epochs" / "results.json")
    assert "median accuracy on unseen faces is 0." in _test(weak, "accuracy_on_hidden_faces").message
    loop = results_mod.read(out / "wrong_loop_updown_unfitted" / "results.json")
    speed = _test(loop, "pipeline_beats_a_python_loop")
    assert "images per second over a naive Python loop's is" in speed.message
    assert speed.measured[0].margin < 0 and speed.measured[0].threshold == 1.5
    solution = results_mod.read(out / "solution" / "results.json")
    assert "images/s" in " ".join(_test(solution, "pipeline_beats_a_python_loop").notes)


def test_the_student_gets_the_image_folders(demo_a3):
    """The build made faces/ and digits/ beside the notebook, and the notebook's own cells loaded them."""
    out, _ = demo_a3
    result = results_mod.read(out / "solution" / "results.json")
    assert all(c.status == "ok" for c in result.cells), [c for c in result.cells if c.status != "ok"]
    executed = (out / "solution" / "executed.ipynb").read_text()
    assert "'front': 200, 'half_left': 200" in executed
    assert "(1797, 32, 32, 1) float32" in executed

"""a2 (HIGGS) graded end to end by the demo: real kernels, real sandbox, real training, an AUC threshold."""

import pytest
from support import assert_fails_exactly

from autograder import results as results_mod

pytestmark = pytest.mark.slow

EXAMPLES = ["solution", "template", "wrong_relu_logits_l2_nesterov_data",
            "wrong_leaky_elu_activation_config_schedule", "wrong_gelu_overflow_outreg_name",
            "fair_unusual_style"]


def test_the_examples_are_the_ones_expected(a2_expected):
    assert sorted(a2_expected) == sorted(EXAMPLES)
    mistakes = [m for e in a2_expected.values() for m in e.get("mistakes", [])]
    assert len(mistakes) == len(set(mistakes)) >= 10


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_fails_exactly_the_tests_it_should(demo_a2, a2_expected, name):
    out, stdout = demo_a2
    assert_fails_exactly(results_mod.read(out / name / "results.json"), a2_expected[name]["fails"])
    assert str(out / name / "feedback.html") in stdout


def test_solution_full_marks_template_zero_and_quickly(demo_a2):
    out, stdout = demo_a2
    solution = results_mod.read(out / "solution" / "results.json")
    template = results_mod.read(out / "template" / "results.json")
    assert solution.score == solution.possible == 19 and "solution: 19 / 19" in stdout
    assert template.score == 0
    # Nothing to train: the template costs a fraction of the solution (ratios, not seconds: shared machines).
    assert template.seconds["total"] < 0.6 * solution.seconds["total"], (template.seconds, solution.seconds)


def test_auc_is_judged_on_unseen_events_and_says_how(demo_a2):
    out, _ = demo_a2
    result = results_mod.read(out / "solution" / "results.json")
    q5 = next(q for q in result.questions if q.name == "q5")
    auc = next(t for t in q5.tests if t.name == "auc_on_unseen_events")
    note = " ".join(auc.notes)
    assert "AUC per seed" in note and "needed 0.8" in note
    assert result.calibration.get("q5.train_higgs_seconds", 0) > 0
    weak = results_mod.read(out / "wrong_relu_logits_l2_nesterov_data" / "results.json")
    failed = next(t for q in weak.questions if q.name == "q5" for t in q.tests if t.name == "auc_on_unseen_events")
    assert "median AUC on unseen events is 0." in failed.message


def test_gradients_are_asked_of_the_submission(demo_a2):
    """The overflowing elu has the right values: only its NaN gradient, found through GradientTape, fails it."""
    out, _ = demo_a2
    result = results_mod.read(out / "wrong_gelu_overflow_outreg_name" / "results.json")
    elu = next(t for q in result.questions for t in q.tests if t.name == "elu_values_and_gradient")
    assert "gradient" in elu.message and "NaN or inf" in elu.message

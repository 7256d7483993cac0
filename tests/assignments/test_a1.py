"""a1 graded end to end by the demo: real kernels, real sandbox, real training, real Otter."""

import json

import nbformat
import pytest
from support import assert_fails_exactly

from autograder import results as results_mod
from autograder.grading.steps import calibration_key
from autograder.store import Store

pytestmark = pytest.mark.slow


def test_demo_prints_where_the_reports_are(demo_results, a1_expected):
    out, stdout = demo_results
    for name in a1_expected:
        assert str(out / name / "feedback.html") in stdout
    assert "solution: 18 / 18" in stdout


@pytest.mark.parametrize("name", ["solution", "template", "wrong_api_timer_saxpy", "wrong_units_wait_loop",
                                  "wrong_dropout_training", "fair_unusual_style"])
def test_each_example_fails_exactly_the_tests_it_should(demo_results, a1_expected, name):
    out, _ = demo_results
    assert_fails_exactly(results_mod.read(out / name / "results.json"), a1_expected[name]["fails"])


def test_results_json_is_gradescope_format(demo_results):
    out, _ = demo_results
    data = json.loads((out / "wrong_dropout_training" / "results.json").read_text())
    assert set(data) >= {"score", "tests", "execution_time"}
    assert [t["name"] for t in data["tests"]] == [f"q{i}" for i in range(1, 8)]
    for t in data["tests"]:
        assert set(t) >= {"name", "score", "max_score", "visibility", "output"}
        assert 0 <= t["score"] <= t["max_score"]
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 15
    q5 = data["tests"][4]
    assert "[FAIL] accuracy_on_held_out_digits" in q5["output"] and "median" in q5["output"]
    machine = data["extra_data"]["machine"]
    assert machine["cores"] >= 1 and machine["tensorflow"] and machine["cpu"]


def test_solution_passes_its_public_checks_and_the_template_does_not(demo_results):
    out, _ = demo_results
    solution = results_mod.read(out / "solution" / "results.json")
    template = results_mod.read(out / "template" / "results.json")
    assert all(q.public and q.public["passed"] for q in solution.questions)
    assert not any(q.public and q.public["passed"] for q in template.questions)


def test_template_is_graded_quickly(demo_results):
    out, _ = demo_results
    template = results_mod.read(out / "template" / "results.json")
    assert template.seconds["total"] < 60, template.seconds


def test_executed_notebook_holds_the_outputs(demo_results):
    out, _ = demo_results
    nb = nbformat.read(out / "solution" / "executed.ipynb", 4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "test accuracy:" in text and "TensorFlow" in text


def test_feedback_shows_scores_hints_machine_and_plots(demo_results):
    out, _ = demo_results
    html = (out / "wrong_api_timer_saxpy" / "feedback.html").read_text()
    assert "Score: 11 / 18" in html
    assert "q7 — TensorBoard" in html and "no TensorBoard event files" in html
    assert "Hint:" in html and "(hidden)" in html
    assert "Machine:" in html and "fingerprint" in html
    solution = (out / "solution" / "feedback.html").read_text()
    assert solution.count("data:image/png;base64,") >= 2  # q5's training curve and q7's logged loss
    assert "def matmul_products_are_correct" not in html  # names of hidden tests, never their code


def test_speed_thresholds_are_ratios_to_a_reference_timed_here(demo_results, a1_bundle):
    out, _ = demo_results
    result = results_mod.read(out / "solution" / "results.json")
    assert result.calibration.get("q5.train_classifier_seconds", 0) > 0
    q5 = next(q for q in result.questions if q.name == "q5")
    note = " ".join(n for t in q5.tests for n in t.notes)
    assert "the reference solution took" in note and "margin" in note
    timing = next(m for t in q5.tests for m in t.measured)
    assert timing.direction == "at_most" and timing.threshold == 6.0 and timing.attempts == 1
    assert timing.margin == pytest.approx(1 - timing.ratio / 6.0)
    with Store(out / "gradebook.sqlite") as store:  # measured once, at the batch's start
        stored = store.calibration(calibration_key(a1_bundle))
    assert stored == result.calibration


def test_gradebook_lists_every_student(demo_results, a1_expected):
    import csv

    out, _ = demo_results
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert sorted(r["student"] for r in rows) == sorted(a1_expected)
    solution = next(r for r in rows if r["student"] == "solution")
    assert (solution["total"], solution["possible"], solution["percent"], solution["status"]) == (
        "18", "18", "100.0", "graded")
    assert [k for k in rows[0]][:9] == ["student", "name", "q1", "q2", "q3", "q4", "q5", "q6", "q7"]
    assert solution["name"] == "Ada Lovelace"  # from the demo's roster


def test_late_penalties_follow_the_spec_and_the_roster(demo_results):
    """a1's spec: deadline 2026-10-02 23:59 +02:00, 15 min grace, 10 % a started day; times from roster.csv."""
    import csv

    out, _ = demo_results
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    turing = rows["wrong_units_wait_loop"]  # 32 h late: two started days after the grace period
    assert (turing["raw"], turing["late_penalty"], turing["total"]) == ("12", "2.4", "9.6")
    assert turing["submitted_at"] == "2026-10-04T08:00:00+02:00"
    hopper = rows["wrong_api_timer_saxpy"]  # 11 minutes late: within the grace period
    assert (hopper["raw"], hopper["late_penalty"], hopper["total"]) == ("11", "0", "11")
    noether = results_mod.read(out / "wrong_dropout_training" / "results.json")  # no time in the roster
    assert noether.penalty == 0 and "no trustworthy submission time" in noether.late.note
    html = (out / "wrong_units_wait_loop" / "feedback.html").read_text()
    assert "Score: 9.6 / 18" in html and "1 day 8 h late" in html and "score before the penalty: 12" in html
    assert json.loads((out / "wrong_units_wait_loop" / "results.json").read_text())["score"] == 9.6
    canvas = list(csv.reader((out / "canvas_import.csv").open()))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][-1] == "18"
    assert ["Alan Turing", "9.6"] == [next(r for r in canvas if r[0] == "Alan Turing")[i] for i in (0, -1)]


def test_grading_again_keeps_what_is_done_and_regrades_what_changed(demo_results, tmp_path):
    from conftest import ROOT, dlgrade

    out, _ = demo_results
    before = (out / "gradebook.csv").read_text()
    again = dlgrade("grade", "a1", str(ROOT / "assignments" / "a1" / "examples"), "-o", str(out))
    assert again.returncode == 0, again.stderr
    assert "0 submission(s) to grade, 6 already graded and unchanged" in again.stdout
    assert (out / "gradebook.csv").read_text() == before
    changed = tmp_path / "template.ipynb"
    nb = nbformat.read(ROOT / "assignments" / "a1" / "examples" / "template.ipynb", 4)
    nb.cells.append(nbformat.v4.new_markdown_cell("I changed my mind."))
    nbformat.write(nb, changed)
    regrade = dlgrade("grade", "a1", str(changed), "-o", str(out))
    assert regrade.returncode == 0, regrade.stderr
    assert "template: 0 / 18" in regrade.stdout and "already graded" not in regrade.stdout


def test_class_summary_for_tas(demo_results):
    out, stdout = demo_results
    html = (out / "summary.html").read_text()
    assert str(out / "summary.html") in stdout
    assert "6 graded" in html and "data:image/png;base64," in html
    assert "q5 — Compile, fit, evaluate" in html and "full marks" in html
    assert "q1/time_call_waits_for_the_result" in html  # failed by two examples and the template
    assert "Reference timings" in html and "q5.train_classifier_seconds" in html


def test_reports_are_rebuilt_from_the_store_alone(demo_results):
    from conftest import dlgrade

    out, _ = demo_results
    before = (out / "wrong_dropout_training" / "results.json").read_text()
    for name in ("summary.html", "gradebook.csv"):
        (out / name).unlink()
    (out / "wrong_dropout_training" / "feedback.html").unlink()
    (out / "wrong_dropout_training" / "results.json").unlink()
    proc = dlgrade("report", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt the reports of 6 submission(s)" in proc.stdout
    assert (out / "summary.html").exists() and (out / "gradebook.csv").exists()
    assert "Score: 15 / 18" in (out / "wrong_dropout_training" / "feedback.html").read_text()
    import json

    assert (json.loads((out / "wrong_dropout_training" / "results.json").read_text())["tests"]
            == json.loads(before)["tests"])


def test_speed_checks_show_their_ratio_and_margin(demo_results):
    """Each speed check's ratio, threshold and margin reach the feedback and the TAs' summary."""
    out, _ = demo_results
    result = results_mod.read(out / "solution" / "results.json")
    saxpy = next(m for q in result.questions for t in q.tests for m in t.measured if "saxpy" in m.what)
    assert saxpy.direction == "at_least" and saxpy.threshold == 4.0 and saxpy.margin > 0
    html = (out / "solution" / "feedback.html").read_text()
    assert f"margin {saxpy.margin:+.0%}" in html
    summary = (out / "summary.html").read_text()
    assert "Speed checks" in summary and "q2/vectorized_is_faster_than_serial" in summary
    # The loop in disguise misses far below the threshold: it is measured once, not retried.
    loop = results_mod.read(out / "wrong_units_wait_loop" / "results.json")
    miss = next(m for q in loop.questions for t in q.tests for m in t.measured if "saxpy" in m.what)
    assert miss.margin < -0.5 and miss.attempts == 1

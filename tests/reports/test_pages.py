"""Feedback pages: what a student sees, with everything the submission controls escaped."""

from autograder.reports import feedback_html
from autograder.results import CellResult, GradingResult, Plot, QuestionResult, TestResult

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def result(**extra):
    tests = [
        TestResult("q1", "relu_matches", 1, 1, "passed", True),
        TestResult("q1", "gelu_matches", 0, 2, "failed", True, message=f"gelu printed {EVIL}", hint="use erf",
                   notes=["note " + EVIL], source=extra.pop("source", "")),
    ]
    q = QuestionResult("q1", "Activations", 1, 3, "visible", tests, public={"passed": False, "text": EVIL})
    return GradingResult(assignment="a9", student="s1", source="s1.ipynb", status="graded", questions=[q],
                         cells=[CellResult(3, "error", 0.1, "NameError: " + EVIL)],
                         plots=[Plot("q1", "loss", {"loss": [1.0, 0.5, 0.25]})],
                         machine={"cpu": "test cpu", "cores": 2, "gpus": []}, isolation="bubblewrap", **extra)


def test_feedback_escapes_what_the_submission_controls():
    html = feedback_html(result())
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_feedback_shows_scores_hints_cells_and_plots():
    html = feedback_html(result())
    assert "Score: 1 / 3" in html and "q1 — Activations: 1 / 3" in html
    assert "Hint:</em> use erf" in html and "cell 4" in html
    assert html.count("data:image/png;base64,") == 1
    assert "test cpu, 2 cores, no GPU" in html
    assert "the test&#39;s code" not in html and "the test's code" not in html


def test_hidden_test_code_only_when_published():
    html = feedback_html(result(source="def gelu_matches(sub, ctx):\n    assert False\n"))
    assert "def gelu_matches(sub, ctx)" in html


def test_results_round_trip_through_json():
    r = result()
    again = GradingResult.from_dict(r.to_gradescope()["extra_data"])
    assert again == r and again.score == 1 and again.possible == 3


def test_unsandboxed_grading_is_visible_in_the_report():
    r = result()
    r.isolation = "off: bubblewrap (bwrap) is not installed"
    assert "Graded without a sandbox (off: bubblewrap (bwrap) is not installed)" in feedback_html(r)
    assert "WITHOUT a sandbox" in r.to_gradescope()["output"]

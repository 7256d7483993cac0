"""Scores set by hand: applied on top of what the tests gave, never stored in its place, refused where senseless.

Real a1 results and a regrade are in ``tests/ta/test_ta_tools.py``; these check the rules on a small result.
"""

from __future__ import annotations

import csv
import json

import pytest
from support import dlgrade

from autograder import api
from autograder.errors import UsageError
from autograder.overrides import applied, automatic
from autograder.reports import feedback_html
from autograder.results import GradingResult, LatePenalty, Override, QuestionResult, TestResult
from autograder.store import Store


def result(student: str = "ada", status: str = "graded") -> GradingResult:
    q1 = QuestionResult("q1", "Activations", 1, 3, "visible", [
        TestResult("q1", "relu_matches", 1, 1, "passed", True),
        TestResult("q1", "gelu_matches", 0, 2, "failed", True, message="gelu is off")])
    q2 = QuestionResult("q2", "Capacity", 2, 2, "hidden", [TestResult("q2", "bigger_fits", 2, 2, "passed", True)])
    return GradingResult(assignment="a9", student=student, source=f"{student}.ipynb", status=status,
                         questions=[q1, q2], isolation="bubblewrap")


def by_hand(question: str, test: str, score: float, comment: str = "because") -> Override:
    return Override(question=question, test=test, score=score, comment=comment, by="ta", at="2026-12-01T10:00:00.000Z")


def test_overrides_apply_on_top_and_come_back_out():
    shown, unmatched = applied(result(), [by_hand("q1", "gelu_matches", 1.5), by_hand("q2", "", 0.5)])
    assert unmatched == []
    q1, q2 = shown.questions
    assert (q1.score, q1.automatic_score, q1.tests[1].points) == (2.5, 1, 1.5)
    assert q1.tests[1].override.automatic == 0
    assert (q2.score, q2.automatic_score, q2.override.automatic) == (0.5, 2, 2)
    assert (shown.score, shown.automatic_score) == (3, 3)
    back = automatic(shown)
    assert back == result()
    again = GradingResult.from_dict(json.loads(json.dumps(shown.to_dict())))
    assert again == shown and again.automatic_score == 3  # results.json keeps both scores


def test_a_question_override_wins_over_its_tests_and_keeps_the_automatic_score():
    shown, _ = applied(result(), [by_hand("q1", "", 3), by_hand("q1", "gelu_matches", 2)])
    q1 = shown.questions[0]
    assert q1.score == 3 and q1.override.automatic == 1 and q1.automatic_score == 1


def test_an_override_that_names_nothing_is_said_and_applied_to_nothing():
    shown, unmatched = applied(result(), [by_hand("q9", "", 1), by_hand("q1", "renamed_test", 1)])
    assert shown == result() and len(unmatched) == 2
    assert "q1/renamed_test names no test" in unmatched[0] and "q9 names no question" in unmatched[1]


def test_the_store_keeps_what_the_tests_gave_and_the_overrides_apart(tmp_path):
    with Store(tmp_path / "gradebook.sqlite") as store:
        store.put(result(), "abc")
        store.put_override("ada", by_hand("q1", "", 3))
        assert store.results()[0].score == 5 and store.results(overridden=False)[0].score == 3
        store.put(store.results()[0], "abc")  # storing a result that shows an override stores the automatic one
        assert store.results(overridden=False)[0] == result()
        assert store.results()[0].questions[0].override.automatic == 1
        assert store.clear_override("ada", "q1", "") and not store.clear_override("ada", "q1", "")
        assert store.results()[0] == result()


def graded_folder(tmp_path):
    out = tmp_path / "out"
    with Store(out / "gradebook.sqlite") as store:
        store.put(result("ada"), "a")
        store.put(result("bob", status="rejected"), "")
    api.report(out)
    return out


@pytest.mark.parametrize("student, target, score, comment, problem", [
    ("zed", "q1", 1, "x", "no result for student 'zed'"),
    ("ada", "q7", 1, "x", "has no question 'q7' (questions: q1, q2)"),
    ("ada", "q1/nope", 1, "x", "has no test 'nope' (tests: relu_matches, gelu_matches)"),
    ("ada", "q1", 4, "x", "q1 is worth 0 to 3 points"),
    ("ada", "q1/relu_matches", -1, "x", "worth 0 to 1 points"),
    ("ada", "q1", float("nan"), "x", "worth 0 to 3 points"),
    ("ada", "q1", 1, "   ", "say why"),
    ("ada", "q1/", 1, "x", "name the test after the slash"),
])
def test_an_override_that_makes_no_sense_is_refused_and_names_why(tmp_path, student, target, score, comment, problem):
    out = graded_folder(tmp_path)
    with pytest.raises(UsageError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        api.override(out, student, target, score, comment)
    assert api.overrides(out) == []


def test_a_file_the_grader_refused_can_be_graded_by_hand_and_canvas_gets_it(tmp_path):
    out = graded_folder(tmp_path)
    with (out / "canvas_import.csv").open() as f:
        assert [r[-1] for r in csv.reader(f)][2:] == ["3", ""]  # bob's file was not graded: nothing for Canvas
    student, applied = api.override(out, "BOB", "q1", 2, "graded by hand from the PDF", by="Grace")
    assert student == "bob" and applied is not None and applied.change() == "1 -> 2"
    with (out / "canvas_import.csv").open() as f:
        assert [r[-1] for r in csv.reader(f)][2:] == ["3", "4"]
    page = (out / "bob" / "feedback.html").read_text()
    assert "Score set by hand: 4 / 5" in page and "graded by hand from the PDF" in page
    assert "automatic: 1" in feedback_html(GradingResult.from_dict(json.loads(
        (out / "bob" / "results.json").read_text())["extra_data"]))  # results.json keeps the override and its why


def test_a_question_and_its_tests_are_not_both_set_by_hand(tmp_path):
    out = graded_folder(tmp_path)
    api.override(out, "ada", "q1/gelu_matches", 1, "a rounding slip")
    with pytest.raises(UsageError, match=r"its tests' scores are already set by hand \(q1/gelu_matches\)"):
        api.override(out, "ada", "q1", 3, "all of it")
    api.override(out, "ada", "q1/gelu_matches", clear=True)
    api.override(out, "ada", "q1", 3, "all of it")
    with pytest.raises(UsageError, match="the whole question's score is already set by hand"):
        api.override(out, "ada", "q1/relu_matches", 0, "no")


def test_a_new_override_says_what_it_replaces_and_who_names_who(tmp_path, monkeypatch):
    out = graded_folder(tmp_path)
    said: list[str] = []
    api.override(out, "ada", "q2", 1, "first\nthought", by="Grace")
    api.override(out, "ada", "q2", 0.5, "second thought", by="Alan", log=said.append)
    assert said == ["ada: this replaces the override of q2 by Grace on " + api.overrides(out)[0].override.at[:10]
                    + " (1 points: first thought)"]
    with pytest.raises(UsageError, match="--by: give the name"):
        api.override(out, "ada", "q2", 1, "x", by="  ")
    monkeypatch.setenv("DLGRADE_TA", "Ada's TA")
    assert api.override(out, "ada", "q2", 1, "x")[1].by == "Ada's TA"


def test_an_id_typed_in_another_unicode_form_is_the_same_student(tmp_path):
    out = tmp_path / "out"
    with Store(out / "gradebook.sqlite") as store:
        store.put(result("Zo\u00eb"), "a")  # composed, as most tools write it
    student, _ = api.override(out, "Zoe\u0308", "q1", 2, "typed on a Mac")  # decomposed, as macOS gives it
    assert student == "Zo\u00eb"


def test_clear_with_a_score_is_refused_by_the_command(tmp_path):
    out = graded_folder(tmp_path)
    done = dlgrade("override", str(out), "ada", "q1", "--clear", "--score", "1")
    assert done.returncode == 2 and "--clear takes back an override" in done.stderr


def test_a_late_penalty_is_its_percent_of_the_raw_score_as_set_by_hand():
    late = result()
    late.late = LatePenalty(submitted_at="2026-10-04T08:00:00+02:00", time_source="roster", hours_late=32,
                            penalty_percent=20, penalty_points=0.6, note="1 day 8 h late: -20 % (0.6 points)")
    assert (late.score, late.penalty, late.final_score) == (3, 0.6, 2.4)
    shown, _ = applied(late, [by_hand("q1", "", 3)])
    assert (shown.score, shown.penalty, shown.final_score) == (5, 1, 4)

"""Public checks (``grader.check``) as students see them: a question without public tests has none, never fails.

``mini`` has public tests for q1 and q3 only (its master has no tests for
q2 and q4), as a3 has none for q7: each such question is reported as having
none, in ``dlgrade check``'s output and in the feedback, and changes no exit
code; a public test that exists and fails still fails.
"""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from support import ROOT, dlgrade

from autograder import spec as spec_mod
from autograder.reports import feedback_html
from autograder.results import NO_PUBLIC_TESTS, GradingResult, PublicStatus, ResultStatus


def _section(page: str, question: str) -> str:
    """The part of a feedback page about one question."""
    start = page.index(f'<h2 id="{question}">')
    end = page.find("<h2", start + 1)
    return page[start:end]


def test_the_bundle_knows_which_questions_have_public_tests(mini):
    _, bundle = mini
    assert bundle.public_tests == {"q1", "q3"} and set(bundle.spec.questions) == {"q1", "q2", "q3", "q4"}
    # The course has such questions too: a3's q7 (the loader's speed) has no public test.
    a3 = nbformat.read(ROOT / "student_template" / "a3" / "a3.ipynb", 4)
    assert "q7" in spec_mod.load(ROOT / "assignments" / "a3").questions and "q7" not in a3.metadata.otter.tests


def test_a_question_without_public_tests_says_so_and_is_no_failure(mini):
    _, bundle = mini
    public = {"q1": {"passed": True, "text": "q1 results: All test cases passed!"},
              "q2": {"passed": None, "text": NO_PUBLIC_TESTS},
              "q3": {"passed": False, "text": "q3 results: Test case failed"}}
    result = GradingResult.assemble(bundle.spec, [], public, student="ann", source="ann.ipynb",
                                    status=ResultStatus.GRADED)
    result = GradingResult.from_dict(json.loads(json.dumps(result.to_dict())))  # as the store keeps it
    status = {q.name: q.public_status for q in result.questions}
    assert status == {"q1": PublicStatus.PASSED, "q2": PublicStatus.NONE, "q3": PublicStatus.FAILED,
                      "q4": PublicStatus.NOT_RUN}
    outputs = {t["name"]: t["output"] for t in result.to_gradescope()["tests"]}
    assert outputs["q2"].endswith(f"public checks: none ({NO_PUBLIC_TESTS})")
    assert outputs["q3"].endswith("public checks: not all passed")
    page = feedback_html(result)
    assert f"Public checks: none ({NO_PUBLIC_TESTS})" in _section(page, "q2")
    assert "not all passed" not in _section(page, "q2") and "not all passed" in _section(page, "q3")
    assert "Public checks" not in _section(page, "q4")


@pytest.mark.kernel
def test_check_passes_a_right_notebook_whose_questions_lack_public_tests(mini, tmp_path):
    root, bundle = mini
    right = tmp_path / "mine.ipynb"
    shutil.copy(bundle.reference, right)
    proc = dlgrade("--root", str(root), "check", "mini", str(right))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert {"q1: passed", "q3: passed", f"q2: {NO_PUBLIC_TESTS}", f"q4: {NO_PUBLIC_TESTS}"} <= set(lines)
    assert "not found" not in proc.stdout and "FAILED" not in proc.stdout

    # A public test that exists and fails still fails; a question without one still is no failure.
    blank = dlgrade("--root", str(root), "check", "mini", str(root / "student_template" / "mini" / "mini.ipynb"))
    assert blank.returncode == 1, blank.stdout + blank.stderr
    assert "q1: FAILED" in blank.stdout and "q3: FAILED" in blank.stdout
    assert f"q2: {NO_PUBLIC_TESTS}" in blank.stdout and "q2: FAILED" not in blank.stdout


@pytest.mark.slow
def test_the_feedback_of_a_graded_notebook_says_which_questions_have_no_public_tests(demo_a3):
    """a3's q7 has no public tests: the demo's graded solution says so, and its other questions' checks pass."""
    out, _ = demo_a3
    page = (out / "solution" / "feedback.html").read_text()
    assert f"Public checks: none ({NO_PUBLIC_TESTS})" in _section(page, "q7")
    for question in ("q1", "q6"):
        assert '<span class="passed">passed</span>' in _section(page, question)
    assert "not all passed" not in page and "not found" not in page
    tests = {t["name"]: t for t in json.loads((out / "solution" / "results.json").read_text())["tests"]}
    assert tests["q7"]["score"] == tests["q7"]["max_score"]
    assert tests["q7"]["output"].endswith(f"public checks: none ({NO_PUBLIC_TESTS})")

"""What a batch prints: a bar on a terminal, plain lines in a log, nothing when quiet; then a summary."""

import io

import pytest

from autograder.progress import Progress, closing_summary
from autograder.results import GradingResult, QuestionResult


def result(student, score, status="graded", seconds=10.0):
    q = QuestionResult("q1", "one", score, 4, "visible", [])
    return GradingResult(assignment="a9", student=student, source="", status=status, questions=[q],
                         message="" if status == "graded" else "not JSON", seconds={"total": seconds},
                         isolation="bubblewrap")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_when_not_a_terminal():
    out = io.StringIO()
    progress = Progress(2, stream=out)
    progress.update(result("ann", 4))
    progress.update(result("ben", 0, status="rejected"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/2 done, ") and "ETA" in lines[0] and "ann: 4 / 4   [q1=4/4]  (10 s)" in lines[0]
    assert lines[1].startswith("[2/2 done, 1 not graded, ") and "ETA" not in lines[1]
    assert "ben: not graded: not JSON" in lines[1]


def test_a_bar_redrawn_in_place_on_a_terminal():
    out = Terminal()
    progress = Progress(4, stream=out, width=8)
    progress.draw()
    progress.update(result("ann", 4))
    progress.close()
    text = out.getvalue()
    assert "\r[........] 0/4 done" in text and "\r[##......] 1/4 done" in text
    assert "\r\033[K" in text and "ann: 4 / 4" in text


def test_quiet_prints_nothing():
    out = Terminal()
    progress = Progress(1, mode="quiet", stream=out)
    progress.draw()
    progress.update(result("ann", 4))
    progress.close()
    assert out.getvalue() == ""
    with pytest.raises(ValueError, match="progress mode 'loud'"):
        Progress(1, mode="loud")


def test_closing_summary_counts_means_and_slowest():
    new = [result("ann", 4, seconds=30), result("ben", 2, seconds=90), result("cy", 0, status="error", seconds=5),
           result("dee", 0, status="rejected", seconds=1)]
    text = closing_summary(new, new + [result("eve", 3)], kept=1)
    assert "graded 2; rejected 1 (not gradable notebooks: dee); failed 1 (" in text and "cy)" in text
    assert "kept 1 already graded and unchanged" in text
    assert "class of 5: mean score 3.00 / 4 (75.0 %)" in text
    assert "slowest: ben 90 s, ann 30 s, cy 5 s" in text

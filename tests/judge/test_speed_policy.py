"""Speed checks: a narrow miss is measured again per the spec's policy, a far one is not, and both say their margin."""

import pytest
from support import context

from autograder.results import SpeedCheck


def measurements(*ratios):
    """A measure() that gives these ratios in turn, and the attempts it was asked for."""
    asked = []

    def measure(attempt):
        asked.append(attempt)
        return ratios[attempt - 1]

    return measure, asked


def test_a_pass_is_measured_once_and_says_its_margin(tmp_path):
    ctx = context(tmp_path)
    measure, asked = measurements(3.0)
    assert ctx.speed("speedup", measure, "min_speedup") == 3.0
    assert asked == [1]
    assert ctx.measured == [SpeedCheck(what="speedup", ratio=3.0, threshold=2.0, direction="at_least",
                                       margin=0.5, attempts=1)]
    assert ctx.notes == ["speedup: 3.00x (needed ≥ 2x; margin +50%)"]


def test_a_narrow_miss_is_measured_again_and_the_best_counts(tmp_path):
    ctx = context(tmp_path)  # the default policy: 3 attempts, retried within 50% of the threshold
    measure, asked = measurements(1.5, 1.8, 2.2)
    assert ctx.speed("speedup", measure, "min_speedup") == 2.2
    assert asked == [1, 2, 3] and ctx.measured[0].attempts == 3
    assert "best of 3 attempts" in ctx.notes[0]


def test_a_far_miss_fails_at_once_with_its_margin(tmp_path):
    ctx = context(tmp_path)
    measure, asked = measurements(0.5, 5.0)
    with pytest.raises(AssertionError, match=r"speedup is 0.50x; ≥ 2x is needed: use a map"):
        ctx.speed("speedup", measure, "min_speedup", advice="use a map")
    assert asked == [1] and ctx.measured[0].margin == pytest.approx(-0.75)


def test_the_spec_and_the_question_set_the_policy(tmp_path):
    ctx = context(tmp_path, policy="speed_policy: {attempts: 2, retry_within: 0.9}")
    measure, asked = measurements(0.5, 0.6, 5.0)
    with pytest.raises(AssertionError):
        ctx.speed("speedup", measure, "min_speedup")
    assert asked == [1, 2]  # within 90% of the threshold, but only two attempts
    ctx = context(tmp_path / "q", thresholds="{min_speedup: 2.0, attempts: 1}")
    measure, asked = measurements(1.9, 5.0)
    with pytest.raises(AssertionError):
        ctx.speed("speedup", measure, "min_speedup")
    assert asked == [1]


def test_an_upper_bound_keeps_the_lowest_ratio(tmp_path):
    ctx = context(tmp_path, thresholds="{max_time_ratio: 4.0}")
    measure, asked = measurements(5.0, 3.0)
    assert ctx.speed("time over the reference's", measure, "max_time_ratio", at_most=True) == 3.0
    assert asked == [1, 2] and ctx.measured[0].margin == pytest.approx(0.25)
    assert "needed ≤ 4x; margin +25%; best of 2 attempts" in ctx.notes[0]


def test_a_nan_ratio_fails(tmp_path):
    ctx = context(tmp_path)
    measure, asked = measurements(float("nan"), 3.0)
    with pytest.raises(AssertionError):
        ctx.speed("speedup", measure, "min_speedup")
    assert asked == [1]

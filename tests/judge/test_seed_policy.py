"""Stopping a seed policy early: the verdict must be the one all seeds would give."""

import itertools
import statistics

import pytest

from autograder.checks.seeds import median_verdict


def at_least(t):
    return lambda x: x >= t


@pytest.mark.parametrize("known, k, verdict", [
    ([0.95, 0.96], 3, True),    # two of three pass: the third cannot pull the median under
    ([0.80, 0.85], 3, False),   # two of three fail
    ([0.95, 0.85], 3, None),    # split: the third decides
    ([0.95], 3, None),
    ([], 3, None),
    ([0.95, 0.96], 4, None),    # even k: the median averages the middle two, which the rest may drag down
    ([0.95, 0.96, 0.97], 4, True),
    ([0.91, 0.5, 0.99], 3, True),  # all known: the plain median
])
def test_median_verdict(known, k, verdict):
    assert median_verdict(known, k, at_least(0.9)) is verdict


def test_a_decided_verdict_holds_whatever_the_rest_turn_out():
    values = [0.0, 0.5, 0.89, 0.9, 0.91, 1.0]
    for k in (1, 2, 3, 4, 5):
        for seq in itertools.product(values, repeat=k):
            final = statistics.median(seq) >= 0.9
            for m in range(k + 1):
                decided = median_verdict(list(seq[:m]), k, at_least(0.9))
                assert decided is None or decided == final, (seq, m)
            assert median_verdict(list(seq), k, at_least(0.9)) == final

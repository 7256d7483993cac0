"""q3 — fast_sum(x): right, and much faster than a Python loop timed in the grader."""

import numpy as np

from autograder.checks.values import array
from autograder.judge import test_case


def _loop_sum(x):
    total = 0.0
    for v in x:
        total += v
    return total


@test_case(points=1, hint="return the sum of every element")
def sums_correctly(sub, ctx):
    x = ctx.rng("x").standard_normal(1001)
    got = float(array(sub.call("fast_sum", x), "fast_sum(x)", ()))
    assert np.isclose(got, x.sum()), f"fast_sum gives {got}, not the sum"


@test_case(points=1, hint="let NumPy do the loop: np.sum")
def much_faster_than_a_loop(sub, ctx):
    x = ctx.rng("big").standard_normal(ctx.integer("n"))
    assert np.isclose(array(sub.call("fast_sum", x), "fast_sum(x)", ()), x.sum()), (
        "fast_sum is wrong; its speed cannot count")

    rng = ctx.fresh_rng("timed")

    def fresh(i):  # new values for every call: no answer can be remembered from an earlier one
        return (rng.standard_normal(ctx.integer("n")).astype("float32"),)

    def right(answer, inputs):
        # A float32 sum of 2 million values is off by up to ~1e-6 of their absolute sum; the sum itself may be
        # near 0, where a relative tolerance would fail a right answer.
        x = inputs[0].astype("float64")
        assert np.isclose(float(array(answer, "fast_sum(x)", ())), x.sum(), rtol=0, atol=1e-6 * np.abs(x).sum()), (
            "fast_sum gave a wrong sum while it was timed; its speed cannot count")

    def speedup(attempt):
        theirs = sub.timed("fast_sum", n=3, warmup=1, fresh=fresh, check=right, per_request=5).per_call
        loop = ctx.time_here(_loop_sum, x, n=1, warmup=0)  # in the grader, where the submission cannot slow it
        return loop / max(theirs, 1e-6)

    ctx.speed("fast_sum's speedup over a Python loop", speedup, "min_speedup")

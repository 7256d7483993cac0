"""q2 — saxpy, serial and vectorised."""

import numpy as np

from autograder.checks.values import array
from autograder.judge import test_case

#: A vectorised call slower than this many times what would pass, plus ``REQUEST_SLACK`` seconds of a request's
#: fixed cost, cannot pass however it is timed: its single calls decide.
FAR_TOO_SLOW, REQUEST_SLACK = 5.0, 0.05


def _element_loop(a, x, y):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = a * x[i] + y[i]
    return out


def _data(ctx, n):
    rng = ctx.rng(f"saxpy{n}")
    return (np.float32(rng.uniform(-3, 3)), rng.standard_normal(n).astype("float32"),
            rng.standard_normal(n).astype("float32"))


@test_case(points=1, hint="saxpy(a, x, y)[i] is a * x[i] + y[i] for every i, the last one included")
def saxpy_both_correct(sub, ctx):
    for n in (1, 17, 1000):
        a, x, y = _data(ctx, n)
        want = a.astype("float64") * x + y
        for name in ("saxpy_serial", "saxpy_vectorized"):
            got = array(sub.call(name, a, x, y), f"{name} for n={n}", want.shape)
            bad = np.flatnonzero(~np.isclose(got, want, rtol=ctx.number("rtol"), atol=1e-5))
            assert not len(bad), f"{name} is wrong at {len(bad)} of {n} elements (first at index {bad[0]})"


@test_case(points=1, hint="the vectorised version should be a few TensorFlow operations on whole tensors")
def vectorized_is_faster_than_serial(sub, ctx):
    n = ctx.integer("n")
    a, x, y = _data(ctx, n)
    want = a.astype("float64") * x + y
    # Speed only counts for a vectorised version that computes saxpy (the
    # serial one's correctness is the other test's business).
    got = array(sub.call("saxpy_vectorized", a, x, y), f"saxpy_vectorized for n={n}", want.shape)
    assert np.allclose(got, want, rtol=ctx.number("rtol"), atol=1e-5), f"saxpy_vectorized is wrong at n={n}"
    array(sub.call("saxpy_serial", a, x, y), f"saxpy_serial for n={n}", want.shape)

    rng = ctx.fresh_rng("timed")

    def fresh(i):  # new values for every timed call: no answer can be remembered from an earlier one
        return (np.float32(rng.uniform(-3, 3)), rng.random(n, dtype=np.float32) * 2 - 1,
                rng.random(n, dtype=np.float32) * 2 - 1)

    def right(answer, inputs):
        a, x, y = inputs
        assert np.allclose(array(answer, "saxpy", x.shape), a.astype("float64") * x + y, rtol=ctx.number("rtol"),
                           atol=1e-5), "saxpy_vectorized gave a wrong answer while it was timed; its speed cannot count"

    def speedup(attempt):
        serial = sub.timed("saxpy_serial", n=1, warmup=0, fresh=fresh).per_call
        # The same element loop, run in the grader: a serial version slowed on purpose cannot flatter the ratio.
        loop = ctx.time_here(_element_loop, a, x, y, n=2, warmup=0)
        allowed = min(serial, loop) / ctx.number("min_speedup")
        # One call a request first: a version far slower than it may be (a loop in disguise, hundreds of ms a
        # call) is judged on those calls, its request's fixed cost and more allowed for. Only one that might
        # pass is timed ten calls a request, where a request's ~10 ms cannot drown a call of a few ms.
        single = sub.timed("saxpy_vectorized", n=2, warmup=1, fresh=fresh, check=right).seconds
        if min(single) > FAR_TOO_SLOW * allowed + REQUEST_SLACK:
            vector = min(single)
        else:
            vector = sub.timed("saxpy_vectorized", n=2, warmup=0, fresh=fresh, check=right, per_request=10).per_call
        ctx.note(f"attempt {attempt}: serial {serial * 1e3:.1f} ms (the grader's loop {loop * 1e3:.1f} ms), "
                 f"vectorised {vector * 1e3:.2f} ms")
        return min(serial, loop) / max(vector, 1e-6)

    # A busy machine only ever slows the vectorised call down: a narrow miss is measured again.
    ctx.speed(f"saxpy_vectorized's speedup over a serial loop at n={n}", speedup, "min_speedup")

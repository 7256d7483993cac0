"""q1 — matmul in NumPy and TensorFlow, and a fair timer."""

import numpy as np

from autograder.checks.values import array
from autograder.judge import NotGraded, test_case


def _operands(ctx, shapes):
    rng = ctx.rng("operands")
    return [(rng.standard_normal(a).astype("float32"), rng.standard_normal(b).astype("float32")) for a, b in shapes]


@test_case(points=1, hint="both functions return the matrix product a @ b, for any compatible shapes")
def matmul_products_are_correct(sub, ctx):
    for a, b in _operands(ctx, [((37, 53), (53, 29)), ((64, 64), (64, 64)), ((1, 7), (7, 1))]):
        want = a.astype("float64") @ b.astype("float64")
        scale = ctx.number("atol") * np.sqrt(a.shape[1])
        for name in ("matmul_numpy", "matmul_tf"):
            got = array(sub.call(name, a, b), f"{name}({a.shape} @ {b.shape})", want.shape)
            assert np.allclose(got, want, atol=scale), f"{name} gives a wrong product for {a.shape} @ {b.shape}"


@test_case(points=1, hint="call fn `warmup` times untimed, then `repeats` times, timing each call")
def time_call_times_each_repeat_after_warmup(sub, ctx):
    sleeper = sub.make("sleeper", delay=0.02)
    times = array(sub.call("time_call", sleeper, repeats=4, warmup=2), "time_call(fn, repeats=4, warmup=2)")
    calls = sub.get(sleeper.attr("calls"))
    assert times.shape == (4,), f"time_call(fn, repeats=4, warmup=2) should return 4 times, got {times.size}"
    assert calls == 6, f"time_call(fn, repeats=4, warmup=2) called fn {calls} times, expected 2 + 4"
    times = [float(t) for t in times]
    assert all(0.015 < t < 1.0 for t in times), (
        f"each call of a function that sleeps 20 ms should time at about 0.02 s; got {np.round(times, 4)}")


@test_case(points=1, hint="TensorFlow can return before the work is done: force the result (e.g. .numpy())")
def time_call_waits_for_the_result(sub, ctx):
    lazy = sub.make("sleeper", delay=0.0, force_delay=0.05)
    times = list(array(sub.call("time_call", lazy, repeats=3, warmup=1), "time_call(fn, repeats=3, warmup=1)").ravel())
    assert len(times) == 3, f"time_call(fn, repeats=3, warmup=1) should return 3 times, got {len(times)}"
    assert min(times) > 0.04, (
        f"a result that takes 50 ms to materialise was timed at {np.round(times, 4)} s: the timer stops "
        "before the work finishes")


@test_case(points=1, hint="matmul_tf should use TensorFlow's own matmul on tensors, without copying through NumPy")
def matmul_tf_speed(sub, ctx):
    repeats = ctx.integer("repeats")

    def correct(a, b):
        # Timing only counts for a matmul_tf that computes the product.
        got = array(sub.call("matmul_tf", a, b), "matmul_tf", (a.shape[0], b.shape[1]))
        want = a.astype("float64") @ b.astype("float64")
        assert np.allclose(got, want, atol=ctx.number("atol") * np.sqrt(a.shape[1]) * 10), (
            f"matmul_tf gives a wrong product at n={a.shape[0]}; its speed cannot count")

    if ctx.gpu:
        if not any("GPU" in d for d in sub.devices()):
            raise NotGraded("a GPU is present but TensorFlow in the sandbox does not see it")
        n = ctx.integer("gpu_n")
        a, b = _operands(ctx, [((n, n), (n, n))])[0]
        correct(a, b)
        def speedup(attempt):
            tf_time = sub.timed("matmul_tf", a, b, n=repeats, warmup=2).per_call
            np_time = ctx.time_here(np.matmul, a, b, n=max(2, repeats // 2))  # NumPy in the grader: untouchable
            ctx.note(f"n={n}, attempt {attempt}: NumPy {np_time * 1e3:.1f} ms, matmul_tf {tf_time * 1e3:.1f} ms")
            return np_time / tf_time

        ctx.speed(f"on the GPU, matmul_tf's speedup over NumPy at n={n}", speedup, "gpu_min_speedup")
        return
    n = ctx.integer("cpu_n")
    a, b = _operands(ctx, [((n, n), (n, n))])[0]
    correct(a, b)
    # On a shared CPU another grader's training can land on either side of the
    # pair: the pair is measured side by side, again while it fails narrowly.
    ctx.note(f"no GPU on this machine: the GPU speedup is not graded; the CPU criterion at n={n} counts")

    def slowdown(attempt):
        tf_time = sub.timed("matmul_tf", a, b, n=repeats, warmup=2).per_call
        np_time = ctx.time_here(np.matmul, a, b, n=repeats, warmup=2)  # NumPy in the grader: untouchable
        ctx.note(f"attempt {attempt}: matmul_tf {tf_time * 1e3:.1f} ms, NumPy {np_time * 1e3:.1f} ms")
        return tf_time / np_time

    ctx.speed(f"on the CPU, matmul_tf's time over NumPy's at n={n}", slowdown, "cpu_max_slowdown", at_most=True,
              advice="it should be comparable")

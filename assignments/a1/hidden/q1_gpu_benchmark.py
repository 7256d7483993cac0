"""q1 — matmul in NumPy and TensorFlow, and a fair timer."""

import numpy as np

from autograder.checks.values import array
from autograder.judge import NotGraded, test_case

#: The least of a timed call counted as its own once the wire's cost is taken off: a wire figure that comes out
#: high by chance cannot make a product free.
WIRE_FLOOR = 0.1


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


def _waits(ctx, salt, n):
    """``n`` waits of the grader's, in seconds: 20 ms apart from 20 ms up, in an order drawn for this grading."""
    rng = ctx.fresh_rng(salt)
    return [float(w) for w in rng.permutation(0.02 * np.arange(1, n + 1)) + rng.uniform(0.0, 0.005, n)]


def _as_held(times, gate, skip, what):
    """Each reported time against the grader's hold of the same call (after ``skip`` warm-ups): never shorter,
    and not much longer; and no call made while another was running."""
    assert gate.overlapped == 0, (
        f"{what} called fn while an earlier call was still running ({gate.overlapped} time(s)): it should call "
        "fn once at a time and time each call on its own")
    held = gate.held[skip:]
    off = [k for k, (t, h) in enumerate(zip(times, held, strict=True)) if not 0.95 * h - 0.002 <= t <= 1.1 * h + 0.015]
    assert not off, (
        f"{what}: the grader held the timed calls for {np.round(held, 3)} s, each as long as it chose; "
        f"time_call reported {np.round(times, 3)}: it should time each call after the warm-ups as it happens, "
        "one time per call, in order")


@test_case(points=1, hint="call fn `warmup` times untimed, then `repeats` times, timing each call")
def time_call_times_each_repeat_after_warmup(sub, ctx):
    # fn's calls last as long as the grader holds them, each a wait of its own drawn for this grading and
    # counted on the grader's side: a timer can only report them by calling fn and measuring.
    what = "time_call(fn, repeats=4, warmup=2)"
    with sub.gated(_waits(ctx, "timer", 6)) as gate:
        answer = sub.call("time_call", gate.fn, repeats=4, warmup=2)
    times = array(answer, what).ravel()
    assert times.shape == (4,), f"{what} should return 4 times, got {times.size}"
    assert gate.calls == 6, f"{what} called fn {gate.calls} times, expected 2 + 4"
    _as_held([float(t) for t in times], gate, 2, what)


@test_case(points=1, hint="TensorFlow can return before the work is done: force the result (e.g. .numpy())")
def time_call_waits_for_the_result(sub, ctx):
    # Here each call returns at once, and its wait, held by the grader, happens when its result is forced.
    what = "time_call(fn, repeats=3, warmup=1)"
    with sub.gated(_waits(ctx, "lazy", 4), lazy=True) as gate:
        answer = sub.call("time_call", gate.fn, repeats=3, warmup=1)
    times = array(answer, what).ravel()
    assert times.shape == (3,), f"{what} should return 3 times, got {times.size}"
    assert gate.calls == 4, (
        f"of 4 results that take the grader's time to materialise, {what} forced {gate.calls}: "
        "the timer stops before the work finishes")
    _as_held([float(t) for t in times], gate, 1, what)


@test_case(points=1, hint="matmul_tf should use TensorFlow's own matmul on tensors, without copying through NumPy")
def matmul_tf_speed(sub, ctx):
    repeats = ctx.integer("repeats")

    rng = ctx.fresh_rng("timed")

    def fresh(n):
        """New operands for every timed call, uniform in [-1, 1): no product can be remembered from an earlier call."""
        return lambda i: (rng.random((n, n), dtype=np.float32) * 2 - 1, rng.random((n, n), dtype=np.float32) * 2 - 1)

    def right(answer, operands):
        """Every timed product is checked (Freivalds: against a random vector, in O(n^2)), or its time cannot count."""
        a, b = operands
        got = array(answer, "matmul_tf", (a.shape[0], b.shape[1]))
        v = rng.choice([-1.0, 1.0], b.shape[1])
        error = np.abs(got @ v - a.astype("float64") @ (b.astype("float64") @ v)).max()
        assert error <= ctx.number("atol") * np.sqrt(a.shape[1]) * np.sqrt(b.shape[1]) * 10, (
            f"matmul_tf gave a wrong product at n={a.shape[0]} while it was timed; its speed cannot count")

    def own_seconds(n, attempt, needed):
        """matmul_tf's seconds a call, on the grader's clock. Where ``needed(total)`` says the whole time does not
        pass, the wire's part (operands in, product out, measured in a clean kernel) is taken off: it can only
        help, so a call that passes with it counted is spared the clean kernel."""
        total = sub.timed("matmul_tf", n=repeats, warmup=2, fresh=fresh(n), check=right).per_call
        if needed(total):
            wire = sub.wire_cost(fresh(n), n=repeats)
            own = max(total - wire, WIRE_FLOOR * total)
            ctx.note(f"attempt {attempt}: matmul_tf {own * 1e3:.1f} ms a call at n={n} (the grader saw "
                     f"{total * 1e3:.1f} ms, of which {wire * 1e3:.1f} ms moving the operands and the product)")
            return own
        ctx.note(f"attempt {attempt}: matmul_tf {total * 1e3:.1f} ms a call at n={n}, moving the operands and the "
                 "product included")
        return total

    def correct(a, b):
        # Timing only counts for a matmul_tf that computes the product.
        right(sub.call("matmul_tf", a, b), (a, b))

    if ctx.gpu:
        if not any("GPU" in d for d in sub.devices()):
            raise NotGraded("a GPU is present but TensorFlow in the sandbox does not see it")
        n = ctx.integer("gpu_n")
        a, b = _operands(ctx, [((n, n), (n, n))])[0]
        correct(a, b)
        def speedup(attempt):
            np_time = ctx.time_here(np.matmul, a, b, n=max(2, repeats // 2))  # NumPy in the grader: untouchable
            ctx.note(f"attempt {attempt}: NumPy {np_time * 1e3:.1f} ms")
            return np_time / own_seconds(n, attempt, lambda total: np_time / total < ctx.number("gpu_min_speedup"))

        ctx.speed(f"on the GPU, matmul_tf's speedup over NumPy at n={n}", speedup, "gpu_min_speedup")
        return
    n = ctx.integer("cpu_n")
    a, b = _operands(ctx, [((n, n), (n, n))])[0]
    correct(a, b)
    # On a shared CPU another grader's training can land on either side of the
    # pair: the pair is measured side by side, again while it fails narrowly.
    ctx.note(f"no GPU on this machine: the GPU speedup is not graded; the CPU criterion at n={n} counts")

    def slowdown(attempt):
        np_time = ctx.time_here(np.matmul, a, b, n=repeats, warmup=2)  # NumPy in the grader: untouchable
        ctx.note(f"attempt {attempt}: NumPy {np_time * 1e3:.1f} ms")
        return own_seconds(n, attempt, lambda total: total / np_time > ctx.number("cpu_max_slowdown")) / np_time

    ctx.speed(f"on the CPU, matmul_tf's time over NumPy's at n={n}", slowdown, "cpu_max_slowdown", at_most=True,
              advice="it should be comparable")

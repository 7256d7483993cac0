"""q4 — optimisers that step weights as asked, learning-rate schedules with the right values at the right steps."""

import math

import numpy as np

from autograder.checks.values import array, remote
from autograder.judge import SubmissionError, test_case


def _sgd(w, grads, lr, momentum=0.0, nesterov=False):
    m, out = np.zeros_like(w), []
    for g in grads:
        if momentum:
            m = momentum * m - lr * g
            w = w + (momentum * m - lr * g if nesterov else m)
        else:
            w = w - lr * g
        out.append(w)
    return out


def _rmsprop(w, grads, lr, rho=0.9, momentum=0.0, epsilon=1e-7):
    v, m, out = np.zeros_like(w), np.zeros_like(w), []
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        step = lr * g / np.sqrt(v + epsilon)
        m = momentum * m + step if momentum else step
        w = w - m
        out.append(w)
    return out


def _adam(w, grads, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.0):
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, 1):
        w = w - w * weight_decay * lr  # decoupled from the gradient step, before it
        m = m + (g - m) * (1 - beta_1)
        v = v + (g * g - v) * (1 - beta_2)
        w = w - lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (np.sqrt(v) + epsilon)
        out.append(w)
    return out


# What each optimiser does to weights, in float64 (Keras 3's update rules; epsilon is Keras's default, and its
# size does not show at the spec's tolerance).
UPDATES = {"sgd": ("SGD", _sgd), "rmsprop": ("RMSprop", _rmsprop), "adam": ("Adam", _adam),
           "adamw": ("AdamW", _adam)}


def _steps_as_asked(sub, ctx, name, **kw):
    """make_optimizer(name, lr, **kw) steps the judge's weights as the optimiser with those settings would.

    Judged by what it does to weights, not by its class or config: every keyword must reach it, however the
    notebook builds it."""
    lr = ctx.number("learning_rate")
    call = f"make_optimizer({name!r}, {lr}{''.join(f', {k}={v!r}' for k, v in kw.items())})"
    opt = remote(sub, "make_optimizer", name, lr, what="a Keras optimiser", **kw)
    rng = ctx.rng(f"{name}/{','.join(str(v) for v in kw.values())}")
    start = rng.uniform(0.5, 1.5, 6) * rng.choice([-1.0, 1.0], 6)
    grads = rng.normal(0, 1, (ctx.integer("optimiser_steps"), 6))
    got = array(sub.call(sub.make("optimiser_steps"), opt, start.astype("float32"), grads.astype("float32")),
                f"{call} stepping a variable", shape=grads.shape)
    cls, update = UPDATES[name]
    want = np.array(update(start, grads, lr, **kw))
    rtol = ctx.number("rtol")
    for step, (g, w) in enumerate(zip(got, want, strict=True), 1):
        assert np.allclose(g, w, rtol=rtol, atol=rtol * np.abs(start).max()), (
            f"{call}: after {step} step(s) on the judge's gradients the weights differ from those of keras's "
            f"{cls} with these settings: does every keyword reach the optimiser?")


@test_case(points=1, hint="keras.optimizers.SGD(learning_rate, momentum=..., nesterov=...) "
                          "and RMSprop(rho=..., momentum=...)")
def sgd_and_rmsprop_as_asked(sub, ctx):
    _steps_as_asked(sub, ctx, "sgd", momentum=0.9, nesterov=True)
    _steps_as_asked(sub, ctx, "sgd", momentum=0.5, nesterov=False)
    _steps_as_asked(sub, ctx, "rmsprop", rho=0.8, momentum=0.3)


@test_case(points=1, hint="keras.optimizers.Adam(beta_1=..., beta_2=...) and AdamW(weight_decay=...)")
def adam_and_adamw_as_asked(sub, ctx):
    lr = ctx.number("learning_rate")
    _steps_as_asked(sub, ctx, "adam", beta_1=0.85, beta_2=0.995)
    _steps_as_asked(sub, ctx, "adamw", weight_decay=0.02, beta_1=0.8, beta_2=0.99)
    try:
        sub.call("make_optimizer", "adamax_typo", lr)
    except SubmissionError as e:
        assert "ValueError" in str(e) and "adamax_typo" in str(e), (
            f"make_optimizer('adamax_typo', ...) should raise a ValueError that names it; it raised {e}")
    else:
        raise AssertionError("make_optimizer('adamax_typo', ...) returned instead of raising a ValueError")


def _schedule_values(sub, ctx, kind, **kw):
    lr, steps = ctx.number("learning_rate"), ctx.integers("steps")
    decay = ctx.integer("decay_steps")
    schedule = remote(sub, "make_schedule", kind, lr, decay, what="a LearningRateSchedule", **kw)
    got = [float(array(sub.call(schedule, step), f"make_schedule({kind!r}, ...)({step})")) for step in steps]
    return lr, decay, steps, got


@test_case(points=2, hint="ExponentialDecay(lr, decay_steps, decay_rate) and CosineDecay(lr, decay_steps, alpha=alpha)")
def schedules_at_hidden_steps(sub, ctx):
    rate, alpha, rtol = ctx.number("decay_rate"), ctx.number("alpha"), ctx.number("rtol")
    lr, decay, steps, got = _schedule_values(sub, ctx, "exponential", decay_rate=rate)
    want = [lr * rate ** (t / decay) for t in steps]
    for t, g, w in zip(steps, got, want, strict=True):
        assert math.isclose(g, w, rel_tol=rtol), (
            f"exponential decay at step {t}: got {g:.6g}, expected lr * decay_rate ** (step / decay_steps) = {w:.6g}")
    lr, decay, steps, got = _schedule_values(sub, ctx, "cosine", alpha=alpha)
    want = [lr * (alpha + (1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(t, decay) / decay))) for t in steps]
    for t, g, w in zip(steps, got, want, strict=True):
        assert math.isclose(g, w, rel_tol=rtol, abs_tol=1e-9), (
            f"cosine decay at step {t}: got {g:.6g}, expected {w:.6g}")

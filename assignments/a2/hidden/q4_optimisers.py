"""q4 — optimisers set up as asked, learning-rate schedules with the right values at the right steps."""

import math

from autograder.checks.values import array, remote
from autograder.judge import SubmissionError, test_case


def _optimizer(sub, name, lr, **kw):
    opt = remote(sub, "make_optimizer", name, lr, what="a Keras optimiser", **kw)
    return opt, sub.config(opt)


def _expect(config, call, **want):
    for key, value in want.items():
        got = config.get(key)
        if isinstance(value, bool) or value is None:
            ok = got is value
        else:
            ok = isinstance(got, (int, float)) and math.isclose(float(got), value, rel_tol=1e-6)
        assert ok, f"{call}: the optimiser's {key} is {got!r}, expected {value!r}"


@test_case(points=1, hint="keras.optimizers.SGD(learning_rate, momentum=..., nesterov=...) "
                          "and RMSprop(rho=..., momentum=...)")
def sgd_and_rmsprop_as_asked(sub, ctx):
    lr = ctx.number("learning_rate")
    cases = [("sgd", {"momentum": 0.9, "nesterov": True}, "SGD"),
             ("sgd", {"momentum": 0.5, "nesterov": False}, "SGD"),
             ("rmsprop", {"rho": 0.8, "momentum": 0.3}, "RMSprop")]
    for name, kw, cls in cases:
        call = f"make_optimizer({name!r}, {lr}, {', '.join(f'{k}={v!r}' for k, v in kw.items())})"
        opt, config = _optimizer(sub, name, lr, **kw)
        assert opt.type.endswith(f".{cls}"), f"{call} returned a {opt.type.rsplit('.', 1)[-1]}, not keras's {cls}"
        _expect(config, call, learning_rate=lr, **kw)


@test_case(points=1, hint="keras.optimizers.Adam(beta_1=..., beta_2=...) and AdamW(weight_decay=...)")
def adam_and_adamw_as_asked(sub, ctx):
    lr = ctx.number("learning_rate")
    cases = [("adam", {"beta_1": 0.85, "beta_2": 0.995}, "Adam"),
             ("adamw", {"weight_decay": 0.02, "beta_1": 0.8, "beta_2": 0.99}, "AdamW")]
    for name, kw, cls in cases:
        call = f"make_optimizer({name!r}, {lr}, {', '.join(f'{k}={v!r}' for k, v in kw.items())})"
        opt, config = _optimizer(sub, name, lr, **kw)
        assert opt.type.endswith(f".{cls}"), f"{call} returned a {opt.type.rsplit('.', 1)[-1]}, not keras's {cls}"
        _expect(config, call, learning_rate=lr, **kw)
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

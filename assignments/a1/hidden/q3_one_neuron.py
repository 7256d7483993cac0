"""q3 — one neuron learns a line."""

import numpy as np

from autograder.checks.values import remote
from autograder.judge import test_case


def _fit(sub, ctx):
    def train():
        rng = ctx.rng("line")
        n = ctx.integer("n")
        x = rng.uniform(-1, 1, (n, 1)).astype("float32")
        y = (ctx.number("weight") * x + ctx.number("bias")
             + rng.normal(0, ctx.number("noise"), (n, 1))).astype("float32")
        sub.seed(0)
        model = remote(sub, "build_linear_model")
        fitted = remote(sub, "fit_linear", model, x, y, what="the fitted model")
        weights = sub.call(fitted.attr("get_weights"))
        assert len(weights) == 2 and np.size(weights[0]) == 1 and np.size(weights[1]) == 1, (
            f"the model should be one Dense(1) unit (a kernel and a bias); it has weights of shapes "
            f"{[np.shape(w) for w in weights]}")
        return float(np.ravel(weights[0])[0]), float(np.ravel(weights[1])[0])

    return sub.once("q3.fit", train)


@test_case(points=1, hint="fit long enough (or with a large enough learning rate) for the loss to settle")
def learns_the_weight(sub, ctx):
    w, _ = _fit(sub, ctx)
    assert abs(w - ctx.number("weight")) <= ctx.number("tolerance"), (
        f"the learned weight {w:.3f} is not within {ctx.number('tolerance')} of the data's slope")


@test_case(points=1, hint="the Dense unit needs a bias, and training long enough to learn it")
def learns_the_bias(sub, ctx):
    _, b = _fit(sub, ctx)
    assert abs(b - ctx.number("bias")) <= ctx.number("tolerance"), (
        f"the learned bias {b:.3f} is not within {ctx.number('tolerance')} of the data's intercept")

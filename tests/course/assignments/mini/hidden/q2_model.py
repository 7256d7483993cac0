"""q2 — build_model(n): a Keras model of one bias-free Dense(1) unit whose weights start at 1.

Judged by what the model predicts on inputs (and weights) the submission
never saw, not by what it says its weights are.
"""

import numpy as np

from autograder.checks.values import array, remote
from autograder.judge import test_case


def _inputs(ctx, salt):
    n, rows = ctx.integer("inputs"), ctx.integer("rows")
    return ctx.rng(salt).uniform(-1, 1, (rows, n)).astype("float32")


@test_case(points=1, hint="kernel_initializer='ones', use_bias=False: a new model predicts the sum of its inputs")
def starts_as_the_sum_of_its_inputs(sub, ctx):
    x = _inputs(ctx, "x0")
    model = remote(sub, "build_model", x.shape[1])
    weights = sub.call(model.attr("get_weights"))
    assert isinstance(weights, list) and len(weights) == 1, "the model should hold one weight tensor (no bias)"
    got = array(sub.predict(model, x), "the model's predict", (len(x), 1))
    assert np.allclose(got[:, 0], x.sum(axis=1), atol=1e-4), "a new model does not predict the sum of its inputs"


@test_case(points=1, hint="one Dense(1) unit without a bias: its prediction is x @ kernel")
def predicts_with_its_weights(sub, ctx):
    x = _inputs(ctx, "x")
    kernel = ctx.rng("kernel").standard_normal((x.shape[1], 1)).astype("float32")  # weights it never saw
    model = remote(sub, "build_model", x.shape[1])
    sub.call(model.attr("set_weights"), [kernel])
    got = array(sub.predict(model, x), "the model's predict", (len(x), 1))
    assert np.allclose(got, x @ kernel, atol=1e-4), "the model's predictions are not x @ its kernel"

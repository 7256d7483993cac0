"""q1 — activation functions written with TensorFlow ops: values, gradients, large inputs, inside a layer."""

import math

import numpy as np
from scipy import special

from autograder.checks.values import array
from autograder.judge import test_case

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _phi(x):
    return 0.5 * (1.0 + special.erf(x / math.sqrt(2.0)))


def _sigmoid(x):
    return special.expit(x)


# name -> (f(x, alpha), f'(x, alpha)) in float64; alpha is None for the fixed ones.
REFERENCE = {
    "relu": (lambda x, a: np.maximum(x, 0.0), lambda x, a: (x > 0).astype(float)),
    "leaky_relu": (lambda x, a: np.where(x > 0, x, a * x), lambda x, a: np.where(x > 0, 1.0, a)),
    "elu": (lambda x, a: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
            lambda x, a: np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0)))),
    "selu": (lambda x, a: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
             lambda x, a: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0)))),
    "swish": (lambda x, a: x * _sigmoid(x), lambda x, a: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "gelu": (lambda x, a: x * _phi(x), lambda x, a: _phi(x) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
}
WITH_ALPHA = ("leaky_relu", "elu")
DEFAULT_ALPHA = {"leaky_relu": 0.2, "elu": 1.0}  # what the notebook's signatures promise


def _inputs(ctx):
    span = ctx.number("span")
    x = np.linspace(-span, span, ctx.integer("points"))
    # 0 itself, where the pieces meet, and magnitudes where a careless exp overflows (float32: e^89 = inf).
    x = np.concatenate([x, [0.0, 1e-3, -1e-3, 1e4, -1e4, 88.0, 89.0, 90.0, -90.0]])
    return x.astype(np.float32)


def _close(got, want, ctx):
    return np.allclose(got, want, rtol=ctx.number("rtol"), atol=ctx.number("atol"))


def _check(sub, ctx, name):
    f, df = REFERENCE[name]
    x = _inputs(ctx)
    alphas = [float(a) for a in ctx.threshold("alphas")] if name in WITH_ALPHA else [None]
    fn = sub.get(name)
    gradient = sub.make("gradient")
    for alpha in alphas:
        args = () if alpha is None else (alpha,)
        call = f"{name}(x{'' if alpha is None else f', {alpha}'})"
        got = array(sub.call(name, x, *args), call, shape=x.shape)
        assert np.isfinite(got).all(), (
            f"{call} gives {np.count_nonzero(~np.isfinite(got))} NaN or inf values, e.g. at x = "
            f"{x[~np.isfinite(got)][:3].tolist()}")
        want = f(x.astype(np.float64), alpha)
        bad = ~np.isclose(got, want, rtol=ctx.number("rtol"), atol=ctx.number("atol"))
        assert not bad.any(), (
            f"{call} is wrong at {np.count_nonzero(bad)} of {x.size} points, e.g. x = {x[bad][0]:g}: "
            f"got {got[bad][0]:.6g}, expected {want[bad][0]:.6g}")
        grad = sub.call(gradient, fn, x, *args)
        assert grad is not None, (
            f"tf.GradientTape finds no gradient through {call}: is it computed with TensorFlow ops on the input "
            f"tensor (not NumPy)?")
        grad = array(grad, f"the gradient of {call}", shape=x.shape)
        # The kink at 0 (relu and friends) may take either side's slope.
        away = np.abs(x) > 1e-6
        assert np.isfinite(grad).all(), (
            f"the gradient of {call} has NaN or inf at x = {x[~np.isfinite(grad)][:3].tolist()} (an exp that "
            f"overflows in the branch tf.where does not choose still poisons the gradient)")
        want_grad = df(x.astype(np.float64), alpha)
        bad = away & ~np.isclose(grad, want_grad, rtol=ctx.number("rtol") * 10,
                                 atol=ctx.number("atol") * 10)
        assert not bad.any(), (
            f"the gradient of {call} is wrong at {np.count_nonzero(bad)} points, e.g. x = {x[bad][0]:g}: "
            f"got {grad[bad][0]:.6g}, expected {want_grad[bad][0]:.6g}")


@test_case(points=0.5, hint="max(x, 0) with tf.maximum")
def relu_values_and_gradient(sub, ctx):
    _check(sub, ctx, "relu")


@test_case(points=0.5, hint="x where x > 0, else alpha * x: use the alpha argument")
def leaky_relu_values_and_gradient(sub, ctx):
    _check(sub, ctx, "leaky_relu")


@test_case(points=0.5, hint="x where x > 0, else alpha * (exp(x) - 1), with exp of min(x, 0)")
def elu_values_and_gradient(sub, ctx):
    _check(sub, ctx, "elu")


@test_case(points=0.5, hint="scale * elu(x, alpha) with the two SELU constants")
def selu_values_and_gradient(sub, ctx):
    _check(sub, ctx, "selu")


@test_case(points=0.5, hint="x * sigmoid(x)")
def swish_values_and_gradient(sub, ctx):
    _check(sub, ctx, "swish")


@test_case(points=0.5, hint="the exact GELU: 0.5 * x * (1 + erf(x / sqrt(2))), not the tanh approximation")
def gelu_values_and_gradient(sub, ctx):
    _check(sub, ctx, "gelu")


@test_case(points=1, hint="each function takes a tensor and returns a tensor of the same shape")
def activations_work_inside_a_dense_layer(sub, ctx):
    rng = ctx.rng("dense")
    x = rng.normal(0, 2, size=(16, 5)).astype(np.float32)
    in_dense = sub.make("in_dense")
    for name in REFERENCE:
        fn = sub.get(name)
        got = sub.call(in_dense, fn, x)
        assert isinstance(got, list) and len(got) == 3, f"Dense(4, activation={name}) could not be applied"
        out, kernel, bias = (array(v, f"Dense(4, activation={name})") for v in got)
        want = REFERENCE[name][0](x.astype(np.float64) @ kernel + bias, DEFAULT_ALPHA.get(name))
        assert out.shape == (16, 4) and _close(out, want, ctx), (
            f"Dense(4, activation={name}) gives wrong outputs for a batch of shape (16, 5)")

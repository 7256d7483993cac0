"""q2 — capacity: parameter counts in the spec's bands, one sigmoid output, the activation asked for.

The output and the hidden activations are judged by what the model computes with weights the judge sets, so
an activation passed to Dense, applied by a layer of its own, or given as a name or a function counts alike.
"""

import numpy as np
from scipy import special

from autograder.checks.models import dense_chain, forward, with_layer
from autograder.checks.values import array, remote
from autograder.errors import SpecError
from autograder.judge import SubmissionError, test_case

CAPACITIES = ("tiny", "small", "medium", "large")
# The hidden activations the spec may ask for, in NumPy.
ACTIVATIONS = {"tanh": np.tanh, "relu": lambda h: np.maximum(h, 0.0), "sigmoid": special.expit,
               "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0.0))),
               "softplus": lambda h: np.logaddexp(h, 0.0)}


def _models(sub, ctx, activation="relu"):
    n = ctx.integer("n_features")
    return {c: remote(sub, "build_model", n, c, activation) for c in CAPACITIES}


@test_case(points=1, hint="tiny: one small hidden layer ... large: several layers of a few hundred units")
def parameter_counts_in_their_bands(sub, ctx):
    bands = ctx.threshold("bands")
    counts = {c: int(sub.call(m.attr("count_params"))) for c, m in _models(sub, ctx).items()}
    for c in CAPACITIES:
        low, high = bands[c]
        assert low <= counts[c] <= high, (
            f"build_model({ctx.integer('n_features')}, {c!r}) has {counts[c]:,} parameters; "
            f"{c!r} should have {low:,} to {high:,}")
    order = [counts[c] for c in CAPACITIES]
    assert order == sorted(order) and len(set(order)) == len(order), f"parameter counts {counts} do not grow"
    try:
        sub.call("build_model", ctx.integer("n_features"), "enormous", "relu")
    except SubmissionError as e:
        assert "ValueError" in str(e) and "enormous" in str(e), (
            f"build_model(..., 'enormous') should raise a ValueError that names 'enormous'; it raised {e}")
    else:
        raise AssertionError("build_model(..., 'enormous') returned instead of raising a ValueError")


def _weights(sub, ctx, model, what):
    """The model's weights and its Dense layers in order (``dense_chain``), however it was written."""
    weights = sub.call(model.attr("get_weights"))
    assert isinstance(weights, list) and weights, f"{what} has no weights"
    return weights, dense_chain(weights, ctx.integer("n_features"), what)


def _outputs(sub, model, weights, x, what):
    """The model's predictions for ``x`` with ``weights`` set by the judge, one per event."""
    sub.call(model.attr("set_weights"), weights)
    p = array(sub.predict(model, x), f"{what}'s predict")
    assert p.shape in ((len(x), 1), (len(x),)), (
        f"{what}'s predictions for {len(x)} events have shape {p.shape}; expected one output per event")
    return p.ravel()


@test_case(points=1, hint="one output unit whose activation is the sigmoid, as an argument or a layer of its own")
def one_sigmoid_output(sub, ctx):
    n = ctx.integer("n_features")
    x = ctx.rng("out").normal(size=(32, n)).astype(np.float32)
    for c, model in _models(sub, ctx).items():
        what = f"the {c!r} model"
        p = array(sub.predict(model, x), f"{what}'s predict")
        assert p.shape in ((32, 1), (32,)) and ((p > 0) & (p < 1)).all(), (
            f"{what}'s predictions for 32 events have shape {p.shape} or leave (0, 1)")
        weights, chain = _weights(sub, ctx, model, what)
        units = np.shape(weights[chain[-1][0]])[1]
        assert units == 1 and chain[-1][1] is not None, (
            f"{what}'s last Dense layer has {units} unit(s){'' if chain[-1][1] is not None else ' and no bias'}; "
            "expected one output unit")
        # The judge sets the output unit's pre-activation to t for every event (its kernel 0, its bias t):
        # whatever follows it, written however, must turn t into sigmoid(t).
        for t in ctx.threshold("pre_activations"):
            got = _outputs(sub, model, with_layer(weights, chain, -1, kernel=0.0, bias=float(t)), x, what)
            want = float(special.expit(float(t)))
            assert np.allclose(got, want, rtol=ctx.number("rtol"), atol=0), (
                f"{what}: where its output unit's pre-activation is {float(t):g}, the model predicts "
                f"{got[0]:.6g}, not sigmoid({float(t):g}) = {want:.6g}: is the sigmoid applied to the output unit, "
                "and only once?")


def _ordered_alike(z, p, tol):
    """Whether ``p`` is a monotone function of ``z`` (increasing or decreasing), to within ``tol``."""
    dz = z[None, :] - z[:, None]
    dp = p[None, :] - p[:, None]
    apart = dz > tol * np.ptp(z)
    slack = tol * max(np.ptp(p), np.finfo(np.float32).tiny)
    return not (apart & (dp < -slack)).any() or not (apart & (dp > slack)).any()


@test_case(points=1, hint="pass `activation` to every hidden Dense layer (or apply it right after each)")
def hidden_layers_use_the_activation(sub, ctx):
    activation = ctx.threshold("activation")
    if activation not in ACTIVATIONS:
        raise SpecError(ctx.spec.file, "questions.q2.thresholds.activation",
                        f"{activation!r} is not one of {sorted(ACTIVATIONS)}, which this test can compute")
    hidden = ACTIVATIONS[activation]
    n = ctx.integer("n_features")
    rng = ctx.rng("hidden")
    x = rng.normal(size=(256, n)).astype(np.float32)
    for c, model in _models(sub, ctx, activation).items():
        what = f"build_model({n}, {c!r}, activation={activation!r})"
        weights, chain = _weights(sub, ctx, model, what)
        assert len(chain) >= 2, f"{what} has no hidden Dense layer"
        # The judge's weights: pre-activations of about unit size, where the activations differ most.
        mine = list(weights)
        for k, (kernel_at, _) in enumerate(chain):
            fan_in, units = np.shape(weights[kernel_at])
            mine = with_layer(mine, chain, k, kernel=rng.normal(0, 1.5 / np.sqrt(fan_in), (fan_in, units)),
                              bias=rng.normal(0, 0.5, units))
        z = forward(x, mine, chain, hidden)[:, 0]
        p = _outputs(sub, model, mine, x, what)
        # Whatever the output unit's activation (the other test's business), a network whose hidden layers
        # apply `activation` gives outputs in the order of z.
        assert np.ptp(p) > 0, f"{what} predicts the same value for every event: its output ignores its inputs"
        assert _ordered_alike(z, p, ctx.number("rtol")), (
            f"{what}: with weights the judge set, the outputs do not follow a network whose every hidden layer "
            f"applies {activation!r}: is `activation` used in each hidden layer?")

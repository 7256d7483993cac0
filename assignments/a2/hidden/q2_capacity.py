"""q2 — capacity: parameter counts in the spec's bands, one sigmoid output, the activation asked for."""

import numpy as np

from autograder.checks.models import layers_of
from autograder.checks.values import array, remote
from autograder.judge import SubmissionError, test_case

CAPACITIES = ("tiny", "small", "medium", "large")


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


@test_case(points=1, hint="the last layer is Dense(1, activation='sigmoid')")
def one_sigmoid_output(sub, ctx):
    n = ctx.integer("n_features")
    x = ctx.rng("out").normal(size=(32, n)).astype(np.float32)
    for c, model in _models(sub, ctx).items():
        layers = layers_of(sub.config(model))
        last = layers[-1] if layers else {}
        cfg = last.get("config", {})
        assert last.get("class_name") == "Dense" and cfg.get("units") == 1 and cfg.get("activation") == "sigmoid", (
            f"the {c!r} model ends in {last.get('class_name')}({cfg.get('units')}, activation="
            f"{cfg.get('activation')!r}); expected Dense(1, activation='sigmoid')")
        p = array(sub.predict(model, x), f"the {c!r} model's predict")
        assert p.shape in ((32, 1), (32,)) and ((p > 0) & (p < 1)).all(), (
            f"the {c!r} model's predictions for 32 events have shape {p.shape} or leave (0, 1)")


@test_case(points=1, hint="pass `activation` to every hidden Dense layer")
def hidden_layers_use_the_activation(sub, ctx):
    activation = ctx.threshold("activation")
    for c, model in _models(sub, ctx, activation).items():
        hidden = [layer["config"] for layer in layers_of(sub.config(model)) if layer.get("class_name") == "Dense"][:-1]
        assert hidden, f"the {c!r} model has no hidden Dense layer"
        used = sorted({str(h.get("activation")) for h in hidden})
        assert used == [activation], (
            f"build_model(..., {c!r}, activation={activation!r}) has hidden layers with activation {used}")

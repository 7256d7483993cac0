"""q3 — an L1L2 regulariser of one's own, a model regularised with it and with dropout."""

import numpy as np

from autograder.checks.models import layers_of
from autograder.checks.values import array, remote
from autograder.judge import test_case


def _penalty(w, l1, l2):
    w = np.asarray(w, dtype=np.float64)
    return l1 * np.abs(w).sum() + l2 * np.square(w).sum()


def _weights(ctx, salt):
    rng = ctx.rng(salt)
    return [rng.normal(0, s, size=shape).astype(np.float32)
            for s, shape in ((1.0, (7, 5)), (3.0, (40,)), (0.1, (2, 3, 4)))]


@test_case(points=1, hint="l1 * sum(|w|) + l2 * sum(w ** 2), with TensorFlow ops")
def penalty_is_l1_plus_l2(sub, ctx):
    l1, l2 = ctx.number("l1"), ctx.number("l2")
    for args in ((l1, l2), (l1, 0.0), (0.0, l2)):
        reg = remote(sub, "L1L2", *args, what="a regulariser")
        for w in _weights(ctx, f"pen{args}"):
            got = float(array(sub.call(reg, w), f"L1L2{args}(w)"))
            want = _penalty(w, *args)
            assert np.isclose(got, want, rtol=ctx.number("rtol")), (
                f"L1L2(l1={args[0]}, l2={args[1]}) gives {got:.6g} for weights of shape {w.shape}; "
                f"l1 * sum(|w|) + l2 * sum(w**2) is {want:.6g}")


@test_case(points=1, hint="get_config returns both l1 and l2, so from_config can rebuild it")
def config_round_trip(sub, ctx):
    l1, l2 = ctx.number("l1"), ctx.number("l2")
    reg = remote(sub, "L1L2", l1, l2, what="a regulariser")
    config = sub.call(reg.attr("get_config"))
    assert isinstance(config, dict), f"get_config() returned {type(config).__name__}, not a dict"
    again = remote(sub, {"name": "L1L2", "attr": "from_config"}, config, what="a regulariser")
    w = _weights(ctx, "cfg")[0]
    got = float(array(sub.call(again, w), "L1L2.from_config(r.get_config())(w)"))
    original = float(array(sub.call(reg, w), "L1L2(l1, l2)(w)"))
    assert np.isclose(got, original, rtol=ctx.number("rtol")), (
        f"a regulariser rebuilt by from_config(get_config()) gives {got:.6g} where the original gives "
        f"{original:.6g}: the config {config} loses something")


@test_case(points=1, hint="kernel_regularizer=L1L2(l2=l2) on both hidden Dense layers, none on the output")
def model_losses_hold_the_penalty(sub, ctx):
    l2, rate = ctx.number("model_l2"), ctx.number("dropout")
    model = remote(sub, "build_regularised_model", 28, l2, rate)
    weights = sub.call(model.attr("get_weights"))
    assert isinstance(weights, list) and weights, "the model has no weights"
    denses = [layer for layer in layers_of(sub.config(model)) if layer.get("class_name") == "Dense"]
    assert len(denses) == 3, f"expected two hidden Dense layers and the output; found {len(denses)} Dense layers"
    kernels = [np.asarray(w) for w in weights if np.asarray(w).ndim == 2]
    want = sum(_penalty(k, 0.0, l2) for k in kernels[:-1])
    losses = sub.get(model.attr("losses"))
    got = float(sum(float(np.sum(array(v, "model.losses"))) for v in (losses or [])))
    assert np.isclose(got, want, rtol=ctx.number("rtol")), (
        f"sum(model.losses) is {got:.6g}; l2 * sum(w**2) over the hidden kernels is {want:.6g}")


@test_case(points=1, hint="Dropout(rate) after each hidden layer: random in training, a no-op in predict")
def dropout_only_in_training(sub, ctx):
    rate = ctx.number("dropout")
    model = remote(sub, "build_regularised_model", 28, ctx.number("model_l2"), rate)
    rates = [float(layer["config"].get("rate", -1)) for layer in layers_of(sub.config(model))
             if layer.get("class_name") == "Dropout"]
    assert len(rates) == 2 and all(abs(r - rate) < 1e-9 for r in rates), (
        f"expected two Dropout layers of rate {rate}; found rates {rates}")
    x = ctx.rng("drop").normal(size=(64, 28)).astype(np.float32)
    a, b = (array(sub.predict(model, x), "predict") for _ in range(2))
    assert np.array_equal(a, b), "two predictions of the same events differ: dropout is active at inference"
    t1, t2 = (array(sub.call(model, x, training=True), "model(x, training=True)") for _ in range(2))
    assert not np.allclose(t1, t2), "model(x, training=True) gives the same output twice: no dropout in training"

"""q3 — an L1L2 regulariser of one's own, a model regularised with it and with dropout."""

import numpy as np

from autograder.checks.models import dense_chain, with_layer
from autograder.checks.values import array, remote
from autograder.judge import test_case

N_FEATURES = 28


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


def _model(sub, ctx):
    """build_regularised_model(28, ...), its weights and its Dense layers input to output (``dense_chain``)."""
    model = remote(sub, "build_regularised_model", N_FEATURES, ctx.number("model_l2"), ctx.number("dropout"))
    what = "build_regularised_model(...)"
    weights = sub.call(model.attr("get_weights"))
    assert isinstance(weights, list) and weights, "the model has no weights"
    chain = dense_chain(weights, N_FEATURES, what)
    shapes = [tuple(np.shape(weights[k])) for k, _ in chain]
    assert len(shapes) == 3 and shapes[-1][1] == 1 and all(b is not None for _, b in chain), (
        f"{what}'s Dense layers have kernels {shapes}; expected two hidden layers, then one output unit, each "
        "with a bias")
    return model, weights, chain


@test_case(points=1, hint="kernel_regularizer=L1L2(l2=l2) on both hidden Dense layers, none on the output")
def model_losses_hold_the_penalty(sub, ctx):
    l2 = ctx.number("model_l2")
    model, weights, chain = _model(sub, ctx)
    want = sum(_penalty(weights[k], 0.0, l2) for k, _ in chain[:-1])
    losses = sub.get(model.attr("losses"))
    got = float(sum(float(np.sum(array(v, "model.losses"))) for v in (losses or [])))
    assert np.isclose(got, want, rtol=ctx.number("rtol")), (
        f"sum(model.losses) is {got:.6g}; l2 * sum(w**2) over the hidden kernels is {want:.6g}")


def _outputs(sub, model, weights, x, training):
    sub.call(model.attr("set_weights"), weights)
    return array(sub.call(model, x, training=training), f"model(x, training={training})").ravel()


def _kept_as(ctx, trained, kept, dropped, where):
    """Every output of a training call is one of ``dropped`` (the unit dropped) or ``kept`` (kept and scaled by
    1 / (1 - rate)), and both happen: ``kept`` and ``dropped`` are inference calls whose weights do that by hand."""
    rate = ctx.number("dropout")

    def close(a, b):
        return np.isclose(a, b, rtol=ctx.number("rtol"), atol=0)

    is_kept = close(trained, kept)
    is_dropped = np.any([close(trained, d) for d in dropped], axis=0)
    assert is_kept.any() and is_dropped.any() and (is_kept | is_dropped).all(), (
        f"model(x, training=True) does not drop the units {where} at rate {rate} (a kept unit is scaled by "
        f"1 / (1 - rate)): is Dropout({rate}) applied {where}?")


@test_case(points=1, hint="Dropout(rate) after each hidden layer: random in training, a no-op in predict")
def dropout_only_in_training(sub, ctx):
    rate = ctx.number("dropout")
    model, weights, chain = _model(sub, ctx)
    x = ctx.rng("drop").normal(size=(64, N_FEATURES)).astype(np.float32)
    a, b = (array(sub.predict(model, x), "predict") for _ in range(2))
    assert np.array_equal(a, b), "two predictions of the same events differ: dropout is active at inference"
    t1, t2 = (array(sub.call(model, x, training=True), "model(x, training=True)") for _ in range(2))
    assert not np.allclose(t1, t2), "model(x, training=True) gives the same output twice: no dropout in training"
    # The judge's weights make every event carry one unit, of known value, from a hidden layer to the output,
    # so a training call's outputs show whether that unit was dropped or kept, and how a kept one was scaled.
    # Each is compared with an inference call whose weights do the same by hand, so neither the hidden
    # activation nor the output's matters, nor how the model is written.
    sub.seed(0)
    (n1, _), (n2, _) = (np.shape(weights[k]) for k, _ in chain[1:])
    one = np.eye(n2, 1, dtype="float32")  # the output reads unit 0 of the second hidden layer
    scale = 1.0 / (1.0 - rate)
    # After the second hidden layer: its units all equal f(1) (kernel 0, bias 1), the output reads one.
    w = with_layer(with_layer(weights, chain, 1, kernel=0.0, bias=1.0), chain, 0, kernel=0.0, bias=0.0)
    trained = _outputs(sub, model, with_layer(w, chain, 2, kernel=one, bias=0.0), x, True)
    kept = _outputs(sub, model, with_layer(w, chain, 2, kernel=one * scale, bias=0.0), x, False)
    dropped = [_outputs(sub, model, with_layer(w, chain, 2, kernel=0.0, bias=0.0), x, False)]
    _kept_as(ctx, trained, kept, dropped, "after the second hidden layer")
    # After the first: its units all f(1); unit 0 of the second layer reads unit 0 of the first, the output it.
    first = np.eye(n1, n2, dtype="float32") * np.eye(n1, 1, dtype="float32")  # unit 0 to unit 0 only
    w = with_layer(weights, chain, 0, kernel=0.0, bias=1.0)
    trained = _outputs(sub, model, with_layer(with_layer(w, chain, 1, kernel=first, bias=0.0), chain, 2,
                                              kernel=one, bias=0.0), x, True)
    kept = _outputs(sub, model, with_layer(with_layer(w, chain, 1, kernel=first * scale, bias=0.0), chain, 2,
                                           kernel=one * scale, bias=0.0), x, False)
    dropped = [_outputs(sub, model, with_layer(w, chain, 2, kernel=0.0, bias=0.0), x, False),
               _outputs(sub, model, with_layer(with_layer(w, chain, 1, kernel=0.0, bias=0.0), chain, 2,
                                               kernel=one * scale, bias=0.0), x, False)]
    _kept_as(ctx, trained, kept, dropped, "after the first hidden layer")

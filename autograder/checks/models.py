"""Checks on Keras models that live in the submission's kernel."""

from __future__ import annotations

import numpy as np

from autograder.judge.handle import Handle
from autograder.judge.wire import Remote

# Layers (and Keras ops in a Functional model's config) that only apply an activation. A check that reads a
# model's structure counts them as part of the layer before (``Dense(1)`` then ``Activation("sigmoid")`` is a
# sigmoid Dense) and leaves judging the activation itself to the model's behaviour.
ACTIVATION_KINDS = frozenset({
    "activation", "lambda", "relu", "relu6", "leakyrelu", "prelu", "elu", "selu", "gelu", "silu", "swish",
    "sigmoid", "hardsigmoid", "hardswish", "tanh", "softmax", "logsoftmax", "softplus", "softsign", "mish",
    "exponential", "linear"})


def layers_of(config: dict) -> list[dict]:
    """The layers of a Sequential or Functional model's JSON config, input layers left out."""
    layers = config.get("config", {}).get("layers", [])
    return [layer for layer in layers if layer.get("class_name") != "InputLayer"]


def is_activation(layer: dict) -> bool:
    """Whether a layer of a model's config only applies an activation (``Activation``, ``ReLU``, an op)."""
    return str(layer.get("class_name", "")).lower().replace("_", "") in ACTIVATION_KINDS


def skeleton(config: dict) -> list[dict]:
    """``layers_of(config)`` without the layers that only apply an activation: what a prompt's
    ``Flatten -> Dense(128, relu) -> ...`` names, however the activations are written."""
    return [layer for layer in layers_of(config) if not is_activation(layer)]


def dense_chain(weights: list, n_in: int, what: str) -> list[tuple[int, int | None]]:
    """The Dense layers of an MLP, input to output, as ``(kernel index, bias index or None)`` into ``weights``.

    Read from the weights' shapes alone (a kernel ``(n, k)``, then its bias ``(k,)``), so the model may be
    Sequential, Functional or subclassed, its activations written any way, and its layers created in any
    order. AssertionError when the weights are not one chain of Dense layers from ``n_in`` inputs.
    """
    shapes = [tuple(np.shape(w)) for w in weights]
    pairs = {}
    for i, shape in enumerate(shapes):
        if len(shape) == 2:
            has_bias = i + 1 < len(shapes) and shapes[i + 1] == (shape[1],)
            pairs[i] = i + 1 if has_bias else None
    used = {i for i in pairs} | {b for b in pairs.values() if b is not None}
    assert len(used) == len(shapes) and pairs, (
        f"{what} has weights of shapes {shapes}; expected only Dense layers' kernels and biases")

    def extend(chain: list, width: int) -> list | None:
        if len(chain) == len(pairs):
            return chain
        for i in sorted(pairs):  # layers of the same shape: in the order the model holds them
            if shapes[i][0] == width and all(i != k for k, _ in chain):
                found = extend([*chain, (i, pairs[i])], shapes[i][1])
                if found is not None:
                    return found
        return None

    chain = extend([], n_in)
    assert chain is not None, (
        f"{what} has weights of shapes {shapes}: they do not chain from {n_in} inputs through one Dense layer "
        "after another")
    return chain


def with_layer(weights: list, chain: list, k: int, kernel=None, bias=None) -> list:
    """A copy of ``weights`` with Dense layer ``k`` of ``chain`` given a new kernel and/or bias (float32)."""
    out = [np.array(w, dtype="float32") for w in weights]
    kernel_at, bias_at = chain[k]
    if kernel is not None:
        out[kernel_at] = np.broadcast_to(np.asarray(kernel, dtype="float32"), out[kernel_at].shape).copy()
    if bias is not None and bias_at is not None:
        out[bias_at] = np.broadcast_to(np.asarray(bias, dtype="float32"), out[bias_at].shape).copy()
    return out


def forward(x: np.ndarray, weights: list, chain: list, hidden) -> np.ndarray:
    """The pre-activation of an MLP's last Dense layer in float64: ``hidden`` (a NumPy function) after every
    other Dense layer."""
    h = np.asarray(x, dtype="float64").reshape(len(x), -1)
    for k, (kernel_at, bias_at) in enumerate(chain):
        h = h @ np.asarray(weights[kernel_at], dtype="float64")
        if bias_at is not None:
            h = h + np.asarray(weights[bias_at], dtype="float64")
        if k < len(chain) - 1:
            h = hidden(h)
    return h


def mlp_weights(rng: np.random.Generator, input_dim: int, units: int, classes: int) -> list[np.ndarray]:
    """Weights for Flatten -> Dense(units) -> Dropout -> Dense(classes), drawn by the judge."""
    return [
        rng.normal(0, 0.3, (input_dim, units)).astype("float32"),
        rng.normal(0, 0.1, (units,)).astype("float32"),
        rng.normal(0, 0.3, (units, classes)).astype("float32"),
        rng.normal(0, 0.1, (classes,)).astype("float32"),
    ]


def mlp_forward(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """Flatten -> relu -> (no dropout at inference) -> softmax, in NumPy."""
    w1, b1, w2, b2 = (w.astype("float64") for w in weights)
    h = np.maximum(x.reshape(len(x), -1).astype("float64") @ w1 + b1, 0)
    z = h @ w2 + b2
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def check_mlp_behaviour(sub: Handle, model: Remote, input_shape: tuple, classes: int, units: int,
                        rng: np.random.Generator, what: str, rate: float | None = None,
                        fresh: np.random.Generator | None = None) -> None:
    """Parameter count, weight shapes, inference output and dropout of an MLP in the kernel; with ``rate``, the
    dropout rate it applies in training, measured (``check_dropout_rate``) with weights and inputs from
    ``fresh`` (else ``rng``): a generator the submission cannot replay keeps it from knowing them."""
    input_dim = int(np.prod(input_shape))
    expected_params = input_dim * units + units + units * classes + classes
    params = sub.call(model.attr("count_params"))
    assert params == expected_params, (
        f"{what} for input shape {tuple(input_shape)} and {classes} classes has {params} parameters; "
        f"Flatten -> Dense({units}) -> Dropout -> Dense({classes}) has {expected_params}")
    shapes = [tuple(np.shape(w)) for w in sub.call(model.attr("get_weights"))]
    wanted = [(input_dim, units), (units,), (units, classes), (classes,)]
    assert shapes == wanted, f"{what}: weight shapes {shapes}, expected {wanted} (hidden layer first)"
    weights = mlp_weights(rng, input_dim, units, classes)
    sub.call(model.attr("set_weights"), weights)
    x = rng.uniform(0, 1, (16, *input_shape)).astype("float32")
    got = np.asarray(sub.call(model, x, training=False), dtype="float64")
    assert got.shape == (16, classes), f"{what} outputs shape {got.shape} for 16 inputs, expected (16, {classes})"
    assert np.all(np.isfinite(got)), f"{what} outputs NaN or inf"
    want = mlp_forward(x, weights)
    if not np.allclose(got, want, atol=1e-4):
        sums = got.sum(axis=1)
        if not np.allclose(sums, 1, atol=1e-3):
            raise AssertionError(f"{what}: outputs are not probabilities (rows sum to {sums[:3].round(3)}...); "
                                 "which activation belongs on the output layer?")
        raise AssertionError(f"{what}: outputs differ from Flatten -> Dense(relu) -> Dropout -> Dense(softmax) "
                             "with the same weights; check each layer's activation and order")
    again = np.asarray(sub.call(model, x, training=False), dtype="float64")
    assert np.array_equal(got, again), f"{what}: two inference calls on the same input differ; dropout must be off"
    trained = np.asarray(sub.call(model, x, training=True), dtype="float64")
    assert not np.allclose(trained, got, atol=1e-6), (
        f"{what}: calling the model with training=True gives the inference output; dropout is not active in training")
    if rate is not None:
        fresh = fresh or rng
        x = fresh.uniform(0, 1, (DROPOUT_SAMPLES, *input_shape)).astype("float32")
        # Logits of a few units (no output probability underflows), whatever the input's size.
        weights = [fresh.normal(0, 1 / np.sqrt(input_dim), (input_dim, units)).astype("float32"),
                   fresh.normal(0, 0.5, units).astype("float32"),
                   fresh.normal(0, 0.3, (units, classes)).astype("float32"),
                   fresh.normal(0, 0.1, classes).astype("float32")]
        check_dropout_rate(sub, model, weights, x, rate, what)


#: Inputs the dropout rate is measured on: each its own mask, so the rate's estimate is good to about +-0.02.
DROPOUT_SAMPLES = 512


def check_dropout_rate(sub: Handle, model: Remote, weights: list[np.ndarray], x: np.ndarray, rate: float,
                       what: str, tolerance: float = 0.06) -> None:
    """The dropout rate an MLP (Flatten -> Dense(relu) -> Dropout -> Dense(softmax)) applies in training,
    measured, against ``rate`` (raises AssertionError).

    With the judge's ``weights`` set, the gap between the first two logits of input i is
    ``g_i = sum_j d_j h_ij m_ij / (1 - r) + (b_0 - b_1)``, where ``h`` are the hidden activations (computed
    here), ``d`` the difference of the output kernel's first two columns and ``m`` the input's own mask:
    inverted dropout keeps its mean ``mu_i`` (the gap without dropout) and gives it a variance of
    ``r / (1 - r) * v_i`` with ``v_i = sum_j (d_j h_ij)^2`` (a sum of independent Bernoulli terms). The
    squared deviations, regressed on ``v``, estimate ``r / (1 - r)``; their sum must stay centred on zero.
    Random weights and inputs (``x``, one row per input) look like any other call, so what counts is the
    dropout the model applies in training, not a rate it reports or applies only to inputs it recognises.
    """
    w1, b1, w2, b2 = (np.asarray(w, dtype="float64") for w in weights)
    sub.call(model.attr("set_weights"), weights)
    p = np.asarray(sub.call(model, x, training=True), dtype="float64")
    assert p.shape == (len(x), w2.shape[1]) and (p > 0).all(), (
        f"{what} with training=True gives outputs of shape {p.shape} that are not all positive probabilities")
    h = np.maximum(x.reshape(len(x), -1).astype("float64") @ w1 + b1, 0.0)
    d = w2[:, 0] - w2[:, 1]
    mu, v = h @ d + (b2[0] - b2[1]), ((h * d) ** 2).sum(axis=1)
    deviation = np.log(p[:, 0]) - np.log(p[:, 1]) - mu
    q = float(np.sum(deviation**2 * v) / np.sum(v**2))
    measured = q / (1 + q)
    centred = float(np.sum(deviation) / np.sqrt(max(q, 1e-12) * np.sum(v)))
    assert abs(measured - rate) <= tolerance and abs(centred) <= 6, (
        f"{what}: in training it drops its hidden units at a rate of {measured:.2f} (measured over {len(x)} "
        f"inputs{'' if abs(centred) <= 6 else ', and does not scale the units it keeps by 1 / (1 - rate)'}); "
        f"the rate asked for is {rate}")

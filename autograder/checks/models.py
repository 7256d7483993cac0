"""Checks on Keras models that live in the submission's kernel."""

from __future__ import annotations

import numpy as np

from autograder.judge.handle import Handle
from autograder.judge.wire import Remote


def layers_of(config: dict) -> list[dict]:
    """The layers of a Sequential or Functional model's JSON config, input layers left out."""
    layers = config.get("config", {}).get("layers", [])
    return [layer for layer in layers if layer.get("class_name") != "InputLayer"]


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
                        rng: np.random.Generator, what: str) -> None:
    """Parameter count, weight shapes, inference output and dropout of an MLP in the kernel."""
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

"""The pieces that let hidden tests grade behaviour, not structure, checked without a kernel.

An MLP's Dense layers found from its weights' shapes, a model's layers with its activation layers folded
away, a2's order test for hidden activations, and a2's NumPy optimisers against Keras's own.
"""

import importlib.util

import numpy as np
import pytest
from scipy import special
from support import ROOT

from autograder.checks.models import dense_chain, forward, skeleton, with_layer


def _hidden(assignment, question):
    path = next((ROOT / "assignments" / assignment / "hidden").glob(f"{question}_*.py"))
    module_spec = importlib.util.spec_from_file_location(f"{assignment}_{question}_pieces", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _config(*kinds):
    return {"class_name": "Functional", "config": {"layers": [{"class_name": k, "config": {}} for k in kinds]}}


def test_activation_layers_and_ops_belong_to_the_layer_before():
    plain = ["InputLayer", "Flatten", "Dense", "Dropout", "Dense"]
    written_apart = ["InputLayer", "Flatten", "Dense", "Activation", "Dropout", "Dense", "Softmax"]
    as_ops = ["InputLayer", "Flatten", "Dense", "Relu", "Dropout", "Dense", "Lambda"]
    for kinds in (plain, written_apart, as_ops, ["Flatten", "Dense", "ReLU", "Dropout", "Dense", "LeakyReLU"]):
        assert [layer["class_name"] for layer in skeleton(_config(*kinds))] == ["Flatten", "Dense", "Dropout", "Dense"]
    assert [layer["class_name"] for layer in skeleton(_config("Flatten", "Dense", "BatchNormalization", "Dense"))] == [
        "Flatten", "Dense", "BatchNormalization", "Dense"]


def test_dense_layers_are_found_from_the_weights_shapes_in_any_order():
    z = np.zeros
    deep = [z((28, 300)), z(300), z((300, 300)), z(300), z((300, 300)), z(300), z((300, 1)), z(1)]
    assert dense_chain(deep, 28, "m") == [(0, 1), (2, 3), (4, 5), (6, 7)]
    output_made_first = [z((64, 1)), z(1), z((28, 128)), z(128), z((128, 64)), z(64)]
    assert dense_chain(output_made_first, 28, "m") == [(2, 3), (4, 5), (0, 1)]
    assert dense_chain([z((4, 3)), z((3, 1)), z(1)], 4, "m") == [(0, None), (1, 2)]
    with pytest.raises(AssertionError, match="only Dense layers"):
        dense_chain([z((28, 8)), z(8), z(8), z(8), z((8, 1)), z(1)], 28, "m")  # batch normalisation's weights
    with pytest.raises(AssertionError, match="do not chain from 10 inputs"):
        dense_chain([z((28, 8)), z(8), z((8, 1)), z(1)], 10, "m")


def test_the_judges_weights_and_forward_pass():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype("float32") for s in ((5, 4), (4,), (4, 1), (1,))]
    chain = dense_chain(weights, 5, "m")
    x = rng.normal(size=(3, 5))
    want = np.tanh(x @ weights[0] + weights[1]) @ weights[2] + weights[3]
    assert np.allclose(forward(x, weights, chain, np.tanh), want)
    before = [w.copy() for w in weights]
    zeroed = with_layer(weights, chain, -1, kernel=0.0, bias=2.5)
    assert np.allclose(forward(x, zeroed, chain, np.tanh), 2.5)
    assert all(np.array_equal(w, v) for w, v in zip(weights, before, strict=True))  # the original is untouched


def test_hidden_activations_are_told_apart_by_the_order_of_outputs():
    ordered_alike = _hidden("a2", "q2")._ordered_alike
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 28))
    dims = [28, 128, 128, 1]
    weights = []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        weights += [rng.normal(0, 1.5 / np.sqrt(a), (a, b)), rng.normal(0, 0.5, b)]
    chain = dense_chain(weights, 28, "m")
    z = forward(x, weights, chain, np.tanh)[:, 0]
    for output in (special.expit, lambda t: t, lambda t: -t, np.tanh):  # any output activation: the other test's
        assert ordered_alike(z, output(z).astype("float32"), 1e-4)
    for hidden in (lambda h: np.maximum(h, 0.0), special.expit, lambda h: 2 * np.tanh(h)):
        assert not ordered_alike(z, special.expit(forward(x, weights, chain, hidden)[:, 0]), 1e-4)


@pytest.mark.slow
def test_the_numpy_optimisers_step_as_keras_does():
    """a2 q4 judges make_optimizer by its steps: its NumPy references must be Keras's update rules."""
    keras = pytest.importorskip("keras")
    agent_spec = importlib.util.spec_from_file_location(
        "kernel_agent_pieces", ROOT / "autograder" / "judge" / "agent" / "kernel_agent.py")
    agent = importlib.util.module_from_spec(agent_spec)
    agent.__user_ns__ = {}  # the namespace the kernel installs it with; this test asks nothing of it
    agent_spec.loader.exec_module(agent)
    updates = _hidden("a2", "q4").UPDATES
    rng = np.random.default_rng(2)
    start, grads = rng.uniform(-1.5, 1.5, 6), rng.normal(0, 1, (20, 6))
    cases = [("sgd", {"momentum": 0.9, "nesterov": True}), ("sgd", {}), ("rmsprop", {"rho": 0.8, "momentum": 0.3}),
             ("adam", {"beta_1": 0.85, "beta_2": 0.995}),
             ("adamw", {"weight_decay": 0.02, "beta_1": 0.8, "beta_2": 0.99})]
    for name, kw in cases:
        cls, update = updates[name]
        got = agent._optimiser_steps(getattr(keras.optimizers, cls)(0.037, **kw), start.astype("float32"),
                                     grads.astype("float32"))
        want = np.array(update(start, grads, 0.037, **kw))
        assert np.allclose(got, want, rtol=1e-5, atol=1e-5), (name, kw)

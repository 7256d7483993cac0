"""Keras checkpoints read and rewritten by the grader as data: files Keras itself wrote, and files it did not."""

import io
import zipfile

import numpy as np
import pytest

from autograder.checks import checkpoints
from autograder.checks.checkpoints import keras_weights, with_weights
from autograder.checks.models import mlp_forward, mlp_weights

keras = pytest.importorskip("keras")


def _mlp(functional: bool):
    if functional:
        inputs = keras.Input((8, 8))
        hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("functional", [False, True])
def test_weights_are_read_from_a_file_keras_wrote(tmp_path, functional):
    for _ in range(3):  # other models first: this one's layers are dense_6, dense_7, not dense, dense_1
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    model = _mlp(functional)
    chosen = mlp_weights(np.random.default_rng(1), 64, 16, 10)
    model.set_weights(chosen)
    model.save(tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    got = keras_weights(data, "m.keras")
    assert [w.shape for w in got] == [w.shape for w in chosen]
    assert all(np.array_equal(g, c) for g, c in zip(got, chosen, strict=True))

    # A copy with other weights: Keras loads exactly those, and they predict as NumPy says they should.
    other = mlp_weights(np.random.default_rng(2), 64, 16, 10)
    (tmp_path / "other.keras").write_bytes(with_weights(data, other, "m.keras"))
    x = np.random.default_rng(0).uniform(0, 1, (32, 8, 8)).astype("float32")
    loaded = keras.models.load_model(tmp_path / "other.keras")
    assert np.allclose(loaded.predict(x, verbose=0), mlp_forward(x, other), atol=1e-5)
    assert all(np.array_equal(g, c) for g, c in zip(keras_weights((tmp_path / "other.keras").read_bytes(), "o"),
                                                     other, strict=True))


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_files_that_are_not_keras_models_fail_with_a_message(monkeypatch):
    with pytest.raises(AssertionError, match=r"saved\.keras is not a Keras model file \(a \.keras file is a zip\)"):
        keras_weights(np.random.default_rng(0).bytes(1000), "saved.keras")
    with pytest.raises(AssertionError, match="holds no model.weights.h5"):
        keras_weights(_zip({"config.json": b"{}"}), "saved.keras")
    with pytest.raises(AssertionError, match="does not describe a Keras model's layers"):
        keras_weights(_zip({"config.json": b"[1, 2]", "model.weights.h5": b"x"}), "saved.keras")
    config = b'{"config": {"layers": [{"class_name": "Dense"}]}}'
    with pytest.raises(AssertionError, match="weights file cannot be read"):
        keras_weights(_zip({"config.json": config, "model.weights.h5": b"not hdf5"}), "saved.keras")
    monkeypatch.setattr(checkpoints, "MAX_MEMBER_BYTES", 100)
    with pytest.raises(AssertionError, match="model.weights.h5 is 1,000 bytes"):
        keras_weights(_zip({"config.json": config, "model.weights.h5": b"0" * 1000}), "saved.keras")

"""Datasets load offline, from what a package ships or a cache; downloads fail clearly."""

import gzip

import numpy as np
import pytest

from autograder import data


def test_digits_are_bundled_and_split_for_the_judge():
    (x_train, y_train), (x_test, y_test) = data.load_digits()
    assert x_train.shape == (data.DIGITS_TRAIN_ROWS, 8, 8) and x_test.shape == (1797 - data.DIGITS_TRAIN_ROWS, 8, 8)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_mnist_reads_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 255, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 255, (2, 28, 28), dtype=np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    np.savez(tmp_path / "datasets" / "mnist.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert np.array_equal(x_train, arrays["x_train"]) and np.array_equal(y_test, arrays["y_test"])


def test_fashion_mnist_reads_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    folder = tmp_path / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    images = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 1, 9], dtype=np.uint8)
    for prefix in ("train", "t10k"):
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0" * 8 + labels.tobytes())
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0" * 16 + images.tobytes())
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist()
    assert np.array_equal(x_test, images) and y_train.tolist() == [7, 1, 9]


@pytest.mark.parametrize("loader, name", [(data.load_mnist, "mnist"), (data.load_fashion_mnist, "fashion_mnist")])
def test_missing_data_says_where_to_get_it_without_downloading(tmp_path, monkeypatch, loader, name):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(data.DataUnavailable) as err:
        loader()
    message = str(err.value)
    assert str(tmp_path / "datasets") in message and f"keras.datasets.{name}.load_data()" in message
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())


def test_digits_are_scikit_learns_read_without_importing_it():
    """The judge's digits are scikit-learn's own, read from its file without paying for its import."""
    import subprocess
    import sys

    from sklearn.datasets import load_digits as sk_digits

    images, target = data.digits_arrays()
    bunch = sk_digits()
    assert np.array_equal(images, bunch.images) and np.array_equal(target, bunch.target)
    code = ("import sys; from autograder import data; data.load_digits(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

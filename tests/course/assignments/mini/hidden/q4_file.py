"""q4 — save_scaled(path, x): a .npy file holding 2 * x, read back without pickles or links."""

import io

import numpy as np

from autograder.judge import test_case

PATH = "saved/scaled.npy"


@test_case(points=1, hint="np.save(path, 2 * x), creating the folder first")
def saves_the_scaled_array(sub, ctx):
    x = ctx.rng("x").standard_normal(ctx.integer("n"))
    sub.call("save_scaled", PATH, x)
    raw = sub.file(PATH, max_bytes=1 << 20)
    try:
        got = np.load(io.BytesIO(raw), allow_pickle=False)
    except ValueError as e:
        raise AssertionError(f"{PATH} is not a plain .npy array ({e})") from None
    assert got.shape == x.shape and np.allclose(got, 2 * x), f"{PATH} does not hold 2 * x"

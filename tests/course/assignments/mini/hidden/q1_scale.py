"""q1 — scale(x, factor): values, dtype and shape, on inputs the submission never saw."""

import numpy as np

from autograder.checks.values import array
from autograder.judge import test_case


@test_case(points=1, hint="multiply every element by factor")
def scales_every_element(sub, ctx):
    x = ctx.rng("x").standard_normal((7, 5))
    factor = ctx.number("factor")
    got = array(sub.call("scale", x, factor), "scale(x, factor)", x.shape)
    assert np.allclose(got, factor * x, rtol=ctx.number("rtol"), atol=0), "scale(x, factor) gives wrong values"


@test_case(points=1, hint="keep the input's dtype and shape")
def keeps_dtype_and_shape(sub, ctx):
    x = ctx.rng("x32").standard_normal((3, 4, 2)).astype("float32")
    got = sub.call("scale", x, 2.0)
    assert isinstance(got, np.ndarray), f"scale returned a {type(got).__name__}, not an array"
    assert got.dtype == np.float32 and got.shape == x.shape, (
        f"scale of a float32 {x.shape} array returned {got.dtype} {got.shape}")

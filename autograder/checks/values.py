"""Turning what a submission returned into what a test needs, or a message the student can act on."""

from __future__ import annotations

import numpy as np

from autograder.judge.handle import Handle
from autograder.judge.wire import Remote

#: The largest array an answer may become (as float64) in the grader.
MAX_FLOAT64_BYTES = 256 * 2**20


def _describe(value) -> str:
    if value is None:
        return "None (is a `return` missing?)"
    if isinstance(value, Remote):
        return f"a {value.type.rsplit('.', 1)[-1]}"
    return f"a {type(value).__name__}"


def array(value, what: str, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a float64 array; fails with what was returned instead."""
    if value is None or isinstance(value, (Remote, dict, str)):
        raise AssertionError(f"{what} returned {_describe(value)}, not an array")
    if np.size(value) * 8 > MAX_FLOAT64_BYTES:  # the conversion's size, not the answer's: a bool is 1 byte of 8
        raise AssertionError(f"{what} returned {np.size(value):,} values, more than any question asks for")
    try:
        out = np.asarray(value, dtype="float64")
    except (TypeError, ValueError):
        raise AssertionError(f"{what} returned {_describe(value)}, not a numeric array") from None
    if shape is not None and out.shape != tuple(shape):
        raise AssertionError(f"{what} returned shape {out.shape}, expected {tuple(shape)}")
    return out


def remote(sub: Handle, target, *args, what: str = "a Keras model", **kwargs) -> Remote:
    """Call ``target`` and insist on an object (e.g. a model) that stays in the kernel."""
    value = sub.call(target, *args, **kwargs)
    if not isinstance(value, Remote):
        name = target if isinstance(target, str) else "the call"
        raise AssertionError(f"{name}(...) returned {_describe(value)}, not {what}")
    return value

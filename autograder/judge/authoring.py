"""What an instructor writes hidden tests with: the ``@test_case`` and ``@reference_figure`` decorators.

A hidden test is a plain function of ``sub`` (the handle to the submission's
kernel, ``judge.handle.Handle``) and ``ctx`` (its question's thresholds and
the report, ``judge.context.Context``)::

    @test_case(points=1, hint="relu(x) is max(x, 0), element by element")
    def relu_matches_reference(sub, ctx):
        x = np.linspace(-5, 5, 101, dtype="float32")
        np.testing.assert_allclose(sub.call("relu", x), np.maximum(x, 0), atol=1e-6)

See docs/AUTHORING.md for the whole of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class TestCase:
    """One hidden test as the loader found it: its name (the function's), points, visibility, hint and code."""

    __test__ = False  # not a pytest test, despite the name
    name: str
    points: float
    hidden: bool
    hint: str
    fn: Callable[[Any, Any], None]


def test_case(points: float = 1, hidden: bool = True, hint: str = "",
              name: str | None = None) -> Callable[[Callable], Callable]:
    """Mark ``fn(sub, ctx)`` as a hidden (or, with ``hidden=False``, visible) test worth ``points``.

    The test passes when it returns and fails with its ``AssertionError``'s
    first line as the student's message; ``hint`` is shown beside a failure.
    """

    def mark(fn: Callable) -> Callable:
        fn.__dlgrade_test__ = TestCase(name or fn.__name__, float(points), hidden, hint, fn)  # type: ignore[attr-defined]
        return fn

    return mark


test_case.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name


def reference_figure(name: str) -> Callable[[Callable], Callable]:
    """Mark ``fn(reference_handle) -> float`` as a figure measured on the reference solution.

    Every declared figure is measured once at the start of a batch, on a quiet
    machine, before any submission runs; hidden tests read it with
    ``ctx.reference(name)``. ``fn(reference_handle, thresholds)`` also gets
    its question's thresholds from the spec.
    """

    def mark(fn: Callable) -> Callable:
        fn.__dlgrade_figure__ = name  # type: ignore[attr-defined]
        return fn

    return mark

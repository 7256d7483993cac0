"""A question's seed policy: train once per seed, combine by the median, stop once the verdicts are decided."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable

import numpy as np

from autograder.errors import NotGraded
from autograder.judge.context import Context
from autograder.judge.handle import Handle


def median_verdict(known: list[float], k: int, passes: Callable[[float], bool]) -> bool | None:
    """The verdict on the median of ``k`` measurements if the ``known`` first ones already decide it.

    ``passes`` must be monotone (``x >= t`` or ``x <= t``). The rest may turn
    out anything, so the verdict is decided when the median passes even with
    every missing value at its worst, or fails even with every one at its
    best. A judge that stops there gives exactly the score that all ``k``
    would have given, for less work. None: measure another one.
    """
    missing = k - len(known)
    if missing <= 0:
        return passes(statistics.median(known))
    low = passes(statistics.median([*known, *[-math.inf] * missing]))
    high = passes(statistics.median([*known, *[math.inf] * missing]))
    return low if low == high else None


def train_over_seeds(ctx: Context, train: Callable[[int], tuple[float, float]], score_key: str,
                     higher_is_better: bool = True,
                     reference_key: str | None = None) -> tuple[list[float], list[float]]:
    """``train(seed) -> (score, seconds)`` for the spec's ``seeds``, in order; the scores and seconds so far.

    Stops as soon as the median score's verdict against the threshold
    ``score_key`` and, with ``reference_key``, the median time's verdict
    against ``max_time_ratio`` times that reference figure are both decided
    (``median_verdict``): the grade is exactly the one all seeds would give.
    Without the reference figure (the time check is then not graded) only
    the score decides.
    """
    seeds = ctx.integers("seeds")
    threshold = ctx.number(score_key)
    reference = None
    if reference_key is not None:
        try:
            reference = ctx.reference(reference_key)
        except NotGraded:
            reference = None
    scores, seconds = [], []
    for seed in seeds:
        score, secs = train(seed)
        scores.append(score)
        seconds.append(secs)
        good = median_verdict(scores, len(seeds), (lambda s: s >= threshold) if higher_is_better
                              else (lambda s: s <= threshold))
        fast = True if reference is None else median_verdict(
            seconds, len(seeds), lambda s: s / reference <= ctx.number("max_time_ratio"))
        if good is not None and fast is not None:
            break
    return scores, seconds


def seeds_note(ctx: Context, trained: int) -> str:
    """Which seeds ran, for the feedback: 'seeds [0, 1] (the other 1 of [0, 1, 2] could not change ...)'."""
    seeds = ctx.integers("seeds")
    used = seeds[:trained]
    if len(used) == len(seeds):
        return f"seeds {used}"
    return f"seeds {used} (the other {len(seeds) - len(used)} of {seeds} could not change the median's verdict)"


def judge_training_time(ctx: Context, seconds: list[float], reference_key: str) -> None:
    """The median training time against ``max_time_ratio`` times the reference's, with a note saying both."""
    reference = ctx.reference(reference_key)
    median = statistics.median(seconds)
    ctx.note(f"training took {median:.1f} s (median, {seeds_note(ctx, len(seconds))}); the reference solution took "
             f"{reference:.1f} s on this machine")
    # Not measured again when narrow: each measurement is a training, and the median over seeds is the policy.
    ctx.speed("training time over the reference solution's", lambda attempt: median / reference, "max_time_ratio",
              at_most=True, attempts=1)


def assert_a_model_of_its_own(earlier: dict[int, np.ndarray], seed: int, predictions: np.ndarray,
                              what: str) -> None:
    """Fail a training answered with a model of an earlier one; else remember its ``predictions`` under ``seed``.

    Each seed trains on data of its own (``jittered``) from its own seed, so
    honest models differ by far more than ``COPY_ATOL``; a function that hands
    back the model it trained first (or a copy of it nudged a little) would
    otherwise be timed at nothing for every later seed, and the median time is
    what counts.
    """
    for other, seen in earlier.items():
        if seen.shape == predictions.shape and _copies(seen, predictions):
            raise AssertionError(f"{what} for seed {seed} returned a model that predicts as the one for seed "
                                 f"{other} does, to within {COPY_ATOL}: each call must train a new model on the data "
                                 "it is given")
    earlier[seed] = predictions


#: Predictions closer than this (mean absolute difference) come from one model. Measured on a1's digits with the
#: reference solution: two trainings from different seeds on jittered data differ by 5.4e-3 (and disagree on 1.8%
#: of the digits), a copy of one with its weights nudged by N(0, 1e-3) by 6.5e-5.
COPY_ATOL = 5e-4


def _copies(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``b`` predicts as ``a`` does, to within ``COPY_ATOL``, in any order of its outputs' columns."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return bool(np.array_equal(a, b, equal_nan=True))
    if a.ndim == 2 and a.shape[1] > 1:
        # Each of a's columns matched with b's closest: relabelling the outputs does not make a new model.
        order = [int(np.argmin(np.abs(b - a[:, [k]]).mean(axis=0))) for k in range(a.shape[1])]
        if len(set(order)) == len(order):
            b = b[:, order]
    return bool(np.abs(a - b).mean() < COPY_ATOL)


def jittered(x: np.ndarray, seed: int, scale: float = 1e-3) -> np.ndarray:
    """``x`` plus noise of ``scale`` (same dtype): the same data to a learner, but values never sent before, so
    that a training cannot be answered from a memo of an earlier one. The noise is the same for a seed."""
    noise = np.random.default_rng(10_000 + seed).normal(0.0, scale, np.shape(x))
    return (np.asarray(x) + noise).astype(np.asarray(x).dtype)


def kernel_datasets(handle: Handle, train: tuple, val: tuple, batch_size: int, seed: int) -> tuple:
    """The judge's training and validation arrays as ``tf.data`` pipelines built in the kernel.

    The training pipeline is shuffled by ``seed``; both come back as ``Remote``s.
    """
    return (handle.make("dataset", x=train[0], y=train[1], batch_size=batch_size, shuffle_seed=seed),
            handle.make("dataset", x=val[0], y=val[1], batch_size=batch_size))

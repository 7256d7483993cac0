"""A question's seed policy: train once per seed, combine by the median, stop once the verdicts are decided."""

from __future__ import annotations

import statistics
from typing import Callable

from autograder.judge import Context, Handle, NotGraded, median_verdict


def train_over_seeds(ctx: Context, train: Callable[[int], tuple[float, float]], score_key: str,
                     higher_is_better: bool = True, reference_key: str | None = None) -> tuple[list[float], list[float]]:
    """``train(seed) -> (score, seconds)`` for the spec's ``seeds``, in order; the scores and seconds so far.

    Stops as soon as the median score's verdict against the threshold
    ``score_key`` and, with ``reference_key``, the median time's verdict
    against ``max_time_ratio`` times that reference figure are both decided
    (``median_verdict``): the grade is exactly the one all seeds would give.
    Without the reference figure (the time check is then not graded) only
    the score decides.
    """
    seeds = ctx.threshold("seeds")
    threshold = ctx.threshold(score_key)
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
            seconds, len(seeds), lambda s: s / reference <= ctx.threshold("max_time_ratio"))
        if good is not None and fast is not None:
            break
    return scores, seconds


def seeds_note(ctx: Context, trained: int) -> str:
    """Which seeds ran, for the feedback: 'seeds [0, 1] (the other 1 of [0, 1, 2] could not change ...)'."""
    seeds = ctx.threshold("seeds")
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

def kernel_datasets(handle: Handle, train: tuple, val: tuple, batch_size: int, seed: int):
    """The judge's training and validation arrays as ``tf.data`` pipelines built in the kernel (training shuffled by ``seed``)."""
    return (handle.make("dataset", x=train[0], y=train[1], batch_size=batch_size, shuffle_seed=seed),
            handle.make("dataset", x=val[0], y=val[1], batch_size=batch_size))

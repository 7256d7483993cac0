"""``Context``: what a hidden test knows besides the submission — its thresholds, the machine, the report.

Thresholds come from the spec, never from literals in test code; typed reads
(``number``, ``integer``, ``integers``) fail as a spec error naming the key
when the spec holds the wrong kind of value. Notes, plots, confusion
matrices and images go to the student's feedback; speed checks are measured
side by side with a retry policy (``speed``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import secrets
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.results import Plot, SpeedCheck
from autograder.spec import Assignment, Question

if TYPE_CHECKING:
    from autograder.judge.calibration import Calibration
    from autograder.judge.handle import Handle

MAX_MATRIX = 50
MAX_LABEL = 40
MAX_IMAGES = 32
MAX_IMAGE_SIDE = 128
MAX_CAPTION = 80


class Context:
    """What a hidden test knows besides the submission: its question's thresholds, the machine, the report."""

    def __init__(self, spec: Assignment, question: Question, gpu: bool, calibration: Calibration,
                 plots: list[Plot], frozen: Callable[[], AbstractContextManager] = contextlib.nullcontext):
        self._frozen = frozen  # stops the submission's every process while the grader times a baseline
        self.spec = spec
        self.question = question
        self.gpu = gpu
        self.calibration = calibration
        self.notes: list[str] = []
        self.measured: list[SpeedCheck] = []
        self._plots = plots
        self._entropy = secrets.randbits(128)  # this grading's own, for fresh_rng

    # -- thresholds ------------------------------------------------------------

    def threshold(self, key: str) -> Any:
        """``questions.<q>.thresholds.<key>`` as the spec holds it; a missing key raises ``SpecError``."""
        return self.question.threshold(key, str(self.spec.file))

    def number(self, key: str) -> float:
        """A numeric threshold (int or float in the spec) as a float; ``SpecError`` for anything else."""
        return self.question.number(key, str(self.spec.file))

    def integer(self, key: str) -> int:
        """A whole-number threshold (a count, a size); ``SpecError`` for anything else."""
        return self.question.integer(key, str(self.spec.file))

    def integers(self, key: str) -> list[int]:
        """A list of whole numbers (e.g. ``seeds``); ``SpecError`` for anything else."""
        return self.question.integers(key, str(self.spec.file))

    # -- the report ------------------------------------------------------------

    def note(self, text: str) -> None:
        """A line under the test in the student's feedback."""
        self.notes.append(text)

    def plot(self, title: str, series: dict[str, Sequence[float]], xlabel: str = "epoch", ylabel: str = "") -> None:
        """A line plot for the feedback: up to 8 series of up to 10,000 values."""
        # NaN and inf (a diverged training) become gaps: results.json must stay strict JSON.
        clean = {str(k)[:50]: [float(v) if np.isfinite(v) else None
                               for v in np.asarray(vals, dtype=float).ravel()[:10000]]
                 for k, vals in list(series.items())[:8]}
        self._plots.append(Plot(self.question.name, title, clean, xlabel, ylabel))

    def confusion(self, title: str, matrix: Any, labels: Sequence[str]) -> None:
        """A confusion matrix for the report: ``matrix[i][j]`` counts class ``i`` predicted as class ``j``."""
        try:
            m = np.asarray(matrix)
        except ValueError:
            raise ValueError("confusion: matrix is ragged; it must be a square array of counts") from None
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
            raise ValueError(f"confusion: matrix must be square (n x n), got shape {m.shape}")
        if m.shape[0] > MAX_MATRIX:
            raise ValueError(f"confusion: matrix is {m.shape[0]} x {m.shape[0]}; at most {MAX_MATRIX} classes")
        if m.dtype.kind not in "biuf":
            raise ValueError(f"confusion: matrix must hold numbers, got dtype {m.dtype}")
        if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(m != np.round(m)):
            raise ValueError("confusion: matrix must hold non-negative whole counts (no NaN, inf or fractions)")
        labels = [" ".join(str(label).split())[:MAX_LABEL] for label in labels]
        if len(labels) != m.shape[0]:
            raise ValueError(f"confusion: {len(labels)} labels for a {m.shape[0]} x {m.shape[0]} matrix")
        self._plots.append(Plot(self.question.name, title, kind="confusion",
                                matrix=m.astype(np.int64).tolist(), labels=labels))

    def images(self, title: str, images: Any, captions: Sequence[str]) -> None:
        """A grid of images for the report, each ``(h, w)`` grey or ``(h, w, 3)`` RGB, with a caption under each.

        Floats are read as [0, 1] (NaN as 0), integers as 0-255; an image over
        128 pixels a side is shrunk by striding.
        """
        images, captions = list(images), [" ".join(str(c).split())[:MAX_CAPTION] for c in captions]
        if not images:
            raise ValueError("images: no images given")
        if len(images) > MAX_IMAGES:
            raise ValueError(f"images: {len(images)} images; at most {MAX_IMAGES}")
        if len(captions) != len(images):
            raise ValueError(f"images: {len(captions)} captions for {len(images)} images; give one each")
        self._plots.append(Plot(self.question.name, title, kind="images",
                                images=[_png_base64(img, f"image {i}") for i, img in enumerate(images)],
                                captions=captions))


    # -- measurements ---------------------------------------------------------

    def speed(self, what: str, measure: Callable[[int], float], threshold_key: str, at_most: bool = False,
              advice: str = "", attempts: int | None = None) -> float:
        """A speed ratio checked against ``threshold_key``, measured again while it fails narrowly.

        ``measure(attempt)`` returns the ratio (e.g. a speedup, or a time
        over the reference's). A shared machine only ever makes a submission
        look slower, so a miss within ``retry_within`` of the threshold (a
        fraction: 0.5 retries a speedup of 1.0 against 1.5, not one of 0.7)
        is measured again, up to ``attempts`` in all, and the best attempt
        counts; a far miss fails at once. Both come from the question's
        thresholds, else the spec's ``speed_policy``. The ratio, the
        threshold and the margin go into the result and the feedback.
        Raises ``AssertionError`` when the best ratio misses.
        """
        needed = self.number(threshold_key)
        policy = self.spec.speed_policy
        if attempts is None:  # a measurement that costs a training each time passes attempts=1
            attempts = int(self.question.thresholds.get("attempts", policy.attempts))
        within = float(self.question.thresholds.get("retry_within", policy.retry_within))

        def margin(r: float) -> float:  # > 0: passes with room to spare, as a fraction of the threshold
            return (needed - r) / needed if at_most else (r - needed) / needed

        ratios: list[float] = []
        for attempt in range(1, max(1, attempts) + 1):
            ratios.append(float(measure(attempt)))
            best = min(ratios) if at_most else max(ratios)
            if not np.isfinite(best) or margin(best) >= 0 or margin(best) < -within:
                break
        self.measured.append(SpeedCheck(what=what, ratio=best, threshold=needed,
                                        direction="at_most" if at_most else "at_least", margin=margin(best),
                                        attempts=len(ratios)))
        sign = "≤" if at_most else "≥"
        self.note(f"{what}: {best:.2f}x (needed {sign} {needed:g}x; margin {margin(best):+.0%}"
                  f"{'' if len(ratios) == 1 else f'; best of {len(ratios)} attempts'})")
        if not margin(best) >= 0:
            raise AssertionError(f"{what} is {best:.2f}x; {sign} {needed:g}x is needed"
                                 + (f": {advice}" if advice else ""))
        return best

    def rng(self, salt: str = "") -> np.random.Generator:
        """A random generator for hidden data: the same for one assignment, question and ``salt`` every time.

        Seeded with all 256 bits of the SHA-256 of ``<assignment>/<question>/<salt>``: every salt its own stream.
        Anyone who reads the hidden tests can replay it, so it is for data that may be known; inputs whose
        answers must not be worked out beforehand (timed calls, waits) come from ``fresh_rng``.
        """
        digest = hashlib.sha256(f"{self.spec.id}/{self.question.name}/{salt}".encode()).digest()
        return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest, "little")))

    def fresh_rng(self, salt: str = "") -> np.random.Generator:
        """A random generator no one can replay: ``rng(salt)``'s key mixed with 128 bits drawn by the operating
        system for this grading (``secrets``). For timed inputs and the grader's waits: nothing the submission
        sees can tell it what comes next, even with the hidden tests at hand."""
        digest = hashlib.sha256(f"{self.spec.id}/{self.question.name}/{salt}".encode()).digest()
        return np.random.default_rng(np.random.SeedSequence([self._entropy, int.from_bytes(digest, "little")]))

    def reference(self, key: str, measure: Callable[[Handle], float] | None = None) -> float:
        """A figure measured on the reference solution on this machine, once per batch.

        ``key`` names a ``@reference_figure`` of the hidden tests; an ad-hoc
        ``measure`` is run on first use instead (within one grader process).
        Raises ``NotGraded`` where the reference cannot be measured.
        """
        return self.calibration.get(key, measure)

    def time_here(self, fn: Callable, *args: Any, n: int = 5, warmup: int = 1) -> float:
        """Median seconds of ``fn(*args)`` run in the grader itself: a baseline the submission cannot touch.

        The submission's sandbox is frozen meanwhile (its control group), so that processes it left
        spinning cannot slow the baseline and flatter its own ratio.
        """
        with self._frozen():
            for _ in range(warmup):
                fn(*args)
            samples = []
            for _ in range(n):
                start = time.perf_counter()
                fn(*args)
                samples.append(time.perf_counter() - start)
        return statistics.median(samples)


def _png_base64(image: Any, what: str) -> str:
    """One image as a base64 PNG, 8-bit grey or RGB, at most ``MAX_IMAGE_SIDE`` pixels a side."""
    from PIL import Image

    try:
        a = np.asarray(image)
    except ValueError:
        raise ValueError(f"images: {what} is ragged, not an array") from None
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"images: {what} has shape {a.shape}; expected (h, w) grey or (h, w, 3) RGB")
    if a.dtype.kind in "bf":
        a = np.round(np.clip(np.nan_to_num(a.astype(np.float64), nan=0.0), 0, 1) * 255)
    elif a.dtype.kind not in "iu":
        raise ValueError(f"images: {what} must hold numbers, got dtype {a.dtype}")
    a = np.clip(a, 0, 255).astype(np.uint8)
    step = -(-max(a.shape[:2]) // MAX_IMAGE_SIDE)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a[::step, ::step])).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()



"""Figures for the reports, drawn in the grader with matplotlib as base64 PNGs (never images from a kernel).

Labels and captions come from hidden tests and may quote a submission: none
is ever read as mathtext.
"""

from __future__ import annotations

import base64
import io
import textwrap
from typing import Any

import numpy as np

from autograder.results import Plot


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _encode(fig: Any) -> str:
    plt = _pyplot()
    fig.set_layout_engine(None)  # laid out already (tight_layout): savefig need not measure every text again
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def plot_png(plot: Plot) -> str:
    """A line plot as a base64 PNG, for an <img src="data:..."> tag."""
    fig, ax = _pyplot().subplots(figsize=(5, 3), dpi=100)
    for label, values in plot.series.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    ax.set_title(plot.title)
    ax.set_xlabel(plot.xlabel)
    if plot.ylabel:
        ax.set_ylabel(plot.ylabel)
    if len(plot.series) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _encode(fig)


def confusion_png(plot: Plot) -> str:
    """A confusion matrix as a heatmap with its counts, as a base64 PNG; labels are never read as mathtext."""
    m = np.asarray(plot.matrix, dtype=np.int64)
    n = len(m)
    side = min(12.0, 2.5 + 0.45 * n)
    fig, ax = _pyplot().subplots(figsize=(side, side), dpi=100)
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(1, int(m.max())))
    fontsize = max(4, min(10, 160 / n))
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=fontsize, in_layout=False,
                color="white" if count > m.max() / 2 else "black")
    labels = plot.labels or []
    rotate = max(map(len, labels), default=0) * n > 6 * side
    ax.set_xticks(range(n), labels, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=fontsize, parse_math=False)
    ax.set_yticks(range(n), labels, fontsize=fontsize, parse_math=False)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(plot.title, parse_math=False)
    fig.tight_layout()
    return _encode(fig)


def images_png(plot: Plot) -> str:
    """A grid of images with a caption under each, as a base64 PNG; captions are never read as mathtext."""
    plt = _pyplot()
    n = len(plot.images or [])
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 2.1 * rows + 0.4), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, png, caption in zip(axes.flat, plot.images or [], plot.captions or [], strict=False):
        image = plt.imread(io.BytesIO(base64.b64decode(png)), format="png")
        ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(textwrap.fill(caption, 22), fontsize=7, parse_math=False)
    fig.suptitle(plot.title, parse_math=False)
    fig.tight_layout()
    return _encode(fig)


_DRAW = {"line": plot_png, "confusion": confusion_png, "images": images_png}


def draw(plot: Plot) -> str:
    """Any of the judge's plots as a base64 PNG."""
    return _DRAW[plot.kind](plot)


def histogram_png(scores: list[float], possible: float) -> str:
    """The class's scores as a histogram, a base64 PNG."""
    import matplotlib

    fig, ax = _pyplot().subplots(figsize=(5, 3), dpi=100)
    bins = max(1, min(20, int(possible) or 1))
    ax.hist(scores, bins=bins, range=(0, possible or 1), color="#4a7ebb", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title("Scores")
    fig.tight_layout()
    return _encode(fig)

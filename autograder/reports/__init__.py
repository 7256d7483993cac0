"""Reports for people: each student's feedback page and the class summary for TAs.

Everything a submission controls (printed output, messages, cell text) is
escaped by Jinja2's autoescaping; plots are PNGs drawn here, embedded as data.
"""

from __future__ import annotations

import base64
import io
import statistics
import textwrap
from pathlib import Path

import jinja2
import numpy as np

from autograder.results import GradingResult

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.reports", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _encode(fig) -> str:
    plt = _pyplot()
    fig.set_layout_engine(None)  # laid out already (tight_layout): savefig need not measure every text again
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def plot_png(plot) -> str:
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


def confusion_png(plot) -> str:
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
    rotate = max(map(len, plot.labels), default=0) * n > 6 * side
    ax.set_xticks(range(n), plot.labels, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=fontsize, parse_math=False)
    ax.set_yticks(range(n), plot.labels, fontsize=fontsize, parse_math=False)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(plot.title, parse_math=False)
    fig.tight_layout()
    return _encode(fig)


def images_png(plot) -> str:
    """A grid of images with a caption under each, as a base64 PNG; captions are never read as mathtext."""
    plt = _pyplot()
    n = len(plot.images)
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 2.1 * rows + 0.4), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, png, caption in zip(axes.flat, plot.images, plot.captions):
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


def _alt(plot) -> str:
    if plot.kind == "images":
        return f"{plot.title}: " + "; ".join(plot.captions)
    return plot.title


def feedback_html(result: GradingResult, show_hidden_messages: bool = True) -> str:
    plots = {}
    for p in result.plots:
        plots.setdefault(p.question, []).append({"title": p.title, "alt": _alt(p), "png": _DRAW[p.kind](p)})
    problem_cells = [c for c in result.cells if c.status != "ok"]
    return _ENV.get_template("feedback.html.j2").render(
        r=result, plots=plots, problem_cells=problem_cells, show_hidden_messages=show_hidden_messages,
    )


def write_summary(results: list[GradingResult], path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(summary_html(results), encoding="utf-8")
    tmp.replace(path)
    return path


def write_feedback(result: GradingResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(result), encoding="utf-8")
    return path


def _histogram_png(scores: list[float], possible: float) -> str:
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


def _speed_rows(graded: list[GradingResult]) -> list[dict]:
    """Each speed check across the class: the threshold, the ratios' range and median, passes and narrow calls."""
    checks: dict[tuple[str, str, str], dict] = {}
    for r in graded:
        for q in r.questions:
            for t in q.tests:
                for m in t.measured:
                    row = checks.setdefault((q.name, t.name, m["what"]),
                                            {"threshold": m["threshold"], "direction": m["direction"], "ratios": [],
                                             "margins": [], "retried": 0})
                    row["ratios"].append(m["ratio"])
                    row["margins"].append(m["margin"])
                    row["retried"] += m["attempts"] > 1
    return [{"check": f"{q}/{t}: {what}", "sign": "≤" if row["direction"] == "at_most" else "≥",
             "threshold": row["threshold"], "low": min(row["ratios"]), "median": statistics.median(row["ratios"]),
             "high": max(row["ratios"]), "passed": sum(m >= 0 for m in row["margins"]), "n": len(row["margins"]),
             "narrow": sum(abs(m) < 0.1 for m in row["margins"]), "retried": row["retried"]}
            for (q, t, what), row in checks.items()]


def summary_html(results: list[GradingResult]) -> str:
    """The class picture for TAs: scores, each question's mean and pass rate, the commonest failures."""
    graded = [r for r in results if r.status == "graded"]
    questions: dict[str, dict] = {}
    failures: dict[tuple[str, str], dict] = {}
    for r in graded:
        for q in r.questions:
            row = questions.setdefault(q.name, {"title": q.title, "max": q.max_score, "scores": []})
            row["scores"].append(q.score)
            for t in q.tests:
                if t.status == "failed":
                    entry = failures.setdefault((q.name, t.name), {"count": 0, "messages": {}})
                    entry["count"] += 1
                    entry["messages"][t.message] = entry["messages"].get(t.message, 0) + 1
    question_rows = [
        {"name": name, "title": row["title"], "max": row["max"],
         "mean": sum(row["scores"]) / len(row["scores"]),
         "pass_rate": sum(s >= row["max"] for s in row["scores"]) / len(row["scores"])}
        for name, row in questions.items()
    ]
    failure_rows = sorted(
        ({"question": q, "test": t, "count": e["count"],
          "messages": sorted(e["messages"].items(), key=lambda kv: -kv[1])[:3]} for (q, t), e in failures.items()),
        key=lambda row: -row["count"],
    )
    possible = max((r.possible for r in graded), default=0)
    return _ENV.get_template("summary.html.j2").render(
        speed=_speed_rows(graded),
        results=sorted(results, key=lambda r: r.student), graded=graded, questions=question_rows,
        failures=failure_rows, possible=possible,
        histogram=_histogram_png([r.final_score for r in graded], possible) if graded else None,
        machine=graded[0].machine if graded else {}, calibration=graded[0].calibration if graded else {},
        assignment=results[0].assignment if results else "",
    )

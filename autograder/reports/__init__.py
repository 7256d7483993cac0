"""Reports for people: each student's feedback page (and, later, the class summary).

Everything a submission controls (printed output, messages, cell text) is
escaped by Jinja2's autoescaping; plots are PNGs drawn here, embedded as data.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import jinja2

from autograder.results import GradingResult

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.reports", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def plot_png(plot) -> str:
    """A line plot as a base64 PNG, for an <img src="data:..."> tag."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
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
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def feedback_html(result: GradingResult, show_hidden_messages: bool = True) -> str:
    plots = {}
    for p in result.plots:
        plots.setdefault(p.question, []).append({"title": p.title, "png": plot_png(p)})
    problem_cells = [c for c in result.cells if c.status != "ok"]
    return _ENV.get_template("feedback.html.j2").render(
        r=result, plots=plots, problem_cells=problem_cells, show_hidden_messages=show_hidden_messages,
    )


def write_feedback(result: GradingResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(result), encoding="utf-8")
    return path

"""The HTML pages: each student's feedback and the class summary for TAs.

Everything a submission controls (printed output, messages, cell text) is
escaped by Jinja2's autoescaping; plots are PNGs drawn here, embedded as
data; each page's Content-Security-Policy allows no script at all.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
from collections.abc import Sequence
from pathlib import Path

import jinja2

from autograder.reports.plots import draw, histogram_png
from autograder.results import NO_PUBLIC_TESTS, CellStatus, GradingResult, Plot, ResultStatus, TestStatus

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("autograder.reports", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


#: The one script the TA's pages run: click a column's header (or Enter on it) to sort the table by it, again to
#: reverse; ``#sort=TABLE:COLUMN:desc`` in the address sorts on load. It reads text (``textContent``) and moves
#: rows, never writes markup, so nothing a submission printed can become code. The pages' Content-Security-Policy
#: allows this script by its digest and no other.
SORT_SCRIPT = r"""
(function () {
  "use strict";
  function value(row, col) {
    var cell = row.cells[col];
    if (!cell) { return ""; }
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    // A figure with a sign or a unit (≤ 5x, 10.35x, 75%, 36 s, 1 / 18, −2) sorts by its number; a date by its text.
    var figure = /^[≤≥]?\s*([−+-]?\d+(\.\d+)?(e[+-]?\d+)?)(?=$|[\sx%\/])/i.exec(text);
    return figure ? Number(figure[1].replace("−", "-")) : text.toLowerCase();
  }
  function sort(table, col, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col), y = value(b, col);
      var order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.setAttribute("aria-sort", i === col ? (descending ? "descending" : "ascending") : "none");
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      function toggle() { sort(table, col, th.getAttribute("aria-sort") === "ascending"); }
      th.addEventListener("click", toggle);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { toggle(); } });
    });
  });
  var asked = /^#sort=([\w-]+):(\d+):(asc|desc)$/.exec(window.location.hash);
  var table = asked && document.getElementById(asked[1]);
  if (table && table.classList.contains("sortable")) { sort(table, Number(asked[2]), asked[3] === "desc"); }
})();
"""
#: The Content-Security-Policy source that lets ``SORT_SCRIPT``, and no other script, run.
SORT_SCRIPT_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode() + "'"


def render_page(template: str, **context: object) -> str:
    """A TA's page from ``templates/<template>``: autoescaped, with ``script`` and ``script_source`` (the
    sorting script and its Content-Security-Policy source) in its context."""
    return _ENV.get_template(template).render(script=SORT_SCRIPT, script_source=SORT_SCRIPT_SOURCE, **context)


def _alt(plot: Plot) -> str:
    if plot.kind == "images":
        return f"{plot.title}: " + "; ".join(plot.captions or [])
    return plot.title


def feedback_html(result: GradingResult, show_hidden_messages: bool = True) -> str:
    """A student's feedback page: score, each question's tests, notes and plots, the cells that failed."""
    plots: dict[str, list[dict]] = {}
    for p in result.plots:
        plots.setdefault(p.question, []).append({"title": p.title, "alt": _alt(p), "png": draw(p)})
    problem_cells = [c for c in result.cells if c.status != CellStatus.OK or c.notes]
    return _ENV.get_template("feedback.html.j2").render(
        r=result, plots=plots, problem_cells=problem_cells, show_hidden_messages=show_hidden_messages,
        no_public_tests=NO_PUBLIC_TESTS,
    )


def write_feedback(result: GradingResult, path: Path) -> Path:
    """Write a student's feedback page to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(result), encoding="utf-8")
    return path


def _speed_rows(graded: list[GradingResult]) -> list[dict]:
    """Each speed check across the class: the threshold, the ratios' range and median, passes and narrow calls."""
    checks: dict[tuple[str, str, str], dict] = {}
    for r in graded:
        for q in r.questions:
            for t in q.tests:
                for m in t.measured:
                    row = checks.setdefault((q.name, t.name, m.what),
                                            {"threshold": m.threshold, "direction": m.direction, "ratios": [],
                                             "margins": [], "retried": 0})
                    row["ratios"].append(m.ratio)
                    row["margins"].append(m.margin)
                    row["retried"] += m.attempts > 1
    return [{"check": f"{q}/{t}: {what}", "sign": "≤" if row["direction"] == "at_most" else "≥",
             "threshold": row["threshold"], "low": min(row["ratios"]), "median": statistics.median(row["ratios"]),
             "high": max(row["ratios"]), "passed": sum(m >= 0 for m in row["margins"]), "n": len(row["margins"]),
             "narrow": sum(abs(m) < 0.1 for m in row["margins"]), "retried": row["retried"]}
            for (q, t, what), row in checks.items()]


def summary_html(results: list[GradingResult], set_aside: Sequence[tuple[str, str, str, str]] = (),
                 bundle: str = "", similarity: str = "") -> str:
    """The class picture for TAs: scores, each question's mean and pass rate, the commonest failures, the
    files not graded (``set_aside``: source, student, outcome, reason), each result's bundle (stale where
    it is not ``bundle``, today's) and the scores set by hand. Each student links to their feedback page;
    ``similarity`` names the similarity page beside it, if there is one. Tables sort by a click on a header."""
    graded = [r for r in results if r.status == ResultStatus.GRADED]
    questions: dict[str, dict] = {}
    failures: dict[tuple[str, str], dict] = {}
    for r in graded:
        for q in r.questions:
            row = questions.setdefault(q.name, {"title": q.title, "max": q.max_score, "scores": []})
            row["scores"].append(q.score)
            for t in q.tests:
                if t.status == TestStatus.FAILED:
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
    return render_page(
        "summary.html.j2", speed=_speed_rows(graded),
        results=sorted(results, key=lambda r: r.student), graded=graded, questions=question_rows,
        failures=failure_rows, possible=possible,
        histogram=histogram_png([r.final_score for r in graded], possible) if graded else None,
        machine=graded[0].machine if graded else {}, calibration=graded[0].calibration if graded else {},
        assignment=results[0].assignment if results else "",
        set_aside=[{"source": Path(src).name, "student": who, "outcome": outcome, "reason": why}
                   for src, who, outcome, why in set_aside],
        bundle=bundle, stale=[r.student for r in results if bundle and r.bundle != bundle],
        overrides=[(r.student, o) for r in results for o in r.overrides], similarity=similarity,
    )


def write_summary(results: list[GradingResult], path: Path, set_aside: Sequence[tuple[str, str, str, str]] = (),
                  bundle: str = "") -> Path:
    """Write the class summary to ``path``, atomically (see ``summary_html``); it links ``similarity.html``
    beside it where ``dlgrade similarity`` wrote one."""
    similarity = "similarity.html" if (path.parent / "similarity.html").exists() else ""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(summary_html(results, set_aside, bundle, similarity), encoding="utf-8")
    tmp.replace(path)
    return path

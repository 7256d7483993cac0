"""What a batch tells the person who started it: a live bar, plain lines, or nothing; then a summary.

On a terminal a bar redraws in place (counts, elapsed time, ETA) with each
finished submission's line printed above it; in a log file or a pipe each
finished submission is one plain line with the same counts; ``quiet`` prints
nothing. The ETA is the wall time per finished submission so far times what is
left, which already accounts for the workers running side by side.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from autograder.results import GradingResult, ResultStatus


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def result_line(result: GradingResult) -> str:
    """One submission in one line: its id, score or why it has none, and how long it took."""
    line = f"{result.student}: {result.summary_line()}"
    if result.status == ResultStatus.GRADED:
        line += "   [" + " ".join(f"{q.name}={q.score:g}/{q.max_score:g}" for q in result.questions) + "]"
    if result.late and result.late.penalty_points:
        line += f"   late: -{result.late.penalty_points:g}"
    if result.seconds.get("total"):
        line += f"  ({result.seconds['total']:.0f} s)"
    return line


class Progress:
    """Counts finished submissions of a batch of ``total`` and shows them as ``mode`` says.

    ``mode`` is ``"auto"`` (a bar on a terminal, lines otherwise), ``"bar"``,
    ``"lines"`` or ``"quiet"``.
    """

    def __init__(self, total: int, mode: str = "auto", stream: Any = None, width: int = 28):
        self.stream = stream or sys.stdout
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() else "lines"
        if mode not in ("bar", "lines", "quiet"):
            raise ValueError(f"progress mode {mode!r}: expected auto, bar, lines or quiet")
        self.mode, self.total, self.width = mode, total, width
        self.done = self.failed = 0
        self.started = time.monotonic()
        self._bar_shown = False

    def counts(self) -> str:
        elapsed = time.monotonic() - self.started
        text = f"{self.done}/{self.total} done"
        if self.failed:
            text += f", {self.failed} not graded"
        text += f", {_clock(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", ETA {_clock(elapsed / self.done * (self.total - self.done))}"
        return text

    def update(self, result: GradingResult) -> None:
        self.done += 1
        self.failed += result.status != ResultStatus.GRADED
        if self.mode == "quiet":
            return
        if self.mode == "lines":
            print(f"[{self.counts()}] {result_line(result)}", file=self.stream, flush=True)
            return
        self._clear()
        print(result_line(result), file=self.stream)
        self.draw()

    def draw(self) -> None:
        if self.mode != "bar":
            return
        filled = int(self.width * self.done / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.counts()}")
        self.stream.flush()
        self._bar_shown = True

    def _clear(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\033[K")
            self._bar_shown = False

    def close(self) -> None:
        if self.mode == "bar":
            self._clear()
            self.stream.flush()


def closing_summary(new: list[GradingResult], everyone: list[GradingResult], kept: int, slowest: int = 3,
                    set_aside: Sequence[tuple[str, str]] = (), stale: Sequence[str] = ()) -> str:
    """What the batch did, in a few lines: counts, mean score, the slowest submissions; the files set aside
    (``set_aside``: outcome and file name each) and the results kept from an older bundle (``stale``)."""
    graded = [r for r in new if r.status == ResultStatus.GRADED]
    rejected = [r for r in new if r.status == ResultStatus.REJECTED]
    broke = [r for r in new if r.status == ResultStatus.ERROR]
    parts = [f"graded {len(graded)}"]
    if rejected:
        parts.append(f"rejected {len(rejected)} (not gradable notebooks: " +
                     ", ".join(r.student for r in rejected[:5]) + ("…" if len(rejected) > 5 else "") + ")")
    if broke:
        parts.append(f"failed {len(broke)} (grading broke down; run the same command again to retry: " +
                     ", ".join(r.student for r in broke[:5]) + ("…" if len(broke) > 5 else "") + ")")
    if kept:
        parts.append(f"kept {kept} already graded and unchanged (--force or --regrade to redo)")
    lines = ["; ".join(parts)]
    for outcome in ("superseded", "refused"):
        files = [name for what, name in set_aside if what == outcome]
        if files:
            lines.append(f"{outcome} {len(files)} file(s): {', '.join(files[:5])}{'…' if len(files) > 5 else ''} "
                         "(why: summary.html, gradebook.csv)")
    if stale:
        lines.append(f"kept {len(stale)} result(s) graded with an older bundle, marked stale: "
                     f"{', '.join(stale[:5])}{'…' if len(stale) > 5 else ''}")
    scored = [r for r in everyone if r.status == ResultStatus.GRADED and r.possible]
    if scored:
        mean = statistics.mean(r.final_score for r in scored)
        possible = statistics.mean(r.possible for r in scored)
        lines.append(f"class of {len(everyone)}: mean score {mean:.2f} / {possible:g} "
                     f"({100 * mean / possible:.1f} %), median {statistics.median(r.final_score for r in scored):g}")
    timed = sorted((r for r in new if r.seconds.get("total")), key=lambda r: -r.seconds["total"])
    if timed:
        lines.append("slowest: " + ", ".join(f"{r.student} {r.seconds['total']:.0f} s" for r in timed[:slowest]))
    return "\n".join(lines)

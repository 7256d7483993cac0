"""Grading overhead: `dlgrade grade` against running the same notebook bare with nbclient.

Measured side by side in one run, alternating, on the same machine:

- bare:      nbclient executes the reference solution (no sandbox, no judge);
- sandboxed: the same cells in dlgrade's bubblewrap kernel (no judge);
- graded:    `dlgrade grade` end to end (sandbox, public checks, hidden tests,
             reports), with the reference calibration already cached.

Prints medians and the ratios to bare. The judge's own work (retraining q5
under the seed policy, timing matmuls) is most of the difference between
sandboxed and graded; the sandbox itself is the difference between bare and
sandboxed.

    .venv/bin/python benchmarks/grade_overhead.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import api, results  # noqa: E402
from autograder.execute import NotebookRun  # noqa: E402
from autograder.grading.steps import prepare_sandbox  # noqa: E402
from autograder.sandbox.kernel import Sandbox  # noqa: E402


def bare(notebook: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(notebook, Path(tmp) / "a1.ipynb")
        nb = nbformat.read(Path(tmp) / "a1.ipynb", 4)
        nb.cells = [c for c in nb.cells if "grader.export(" not in c.source]
        start = time.perf_counter()
        NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": tmp}}).execute()
        return time.perf_counter() - start


def sandboxed(notebook: Path, limits) -> float:
    nb = nbformat.read(notebook, 4)
    start = time.perf_counter()
    with Sandbox(limits) as sb:
        prepare_sandbox(sb, nb, "a1.ipynb")
        run = NotebookRun(nb, sb).run_all()
    assert not run.failed_cells(), run.failed_cells()
    return time.perf_counter() - start


def graded(notebook: Path, out: Path) -> tuple[float, dict[str, float]]:
    """Seconds end to end, and the hidden tests' own seconds by question."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "a1", str(notebook), "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0 and "18 / 18" in proc.stdout, proc.stdout + proc.stderr
    result = results.read(out / notebook.stem / "results.json")
    return elapsed, {q.name: sum(t.seconds for t in q.tests) for q in result.questions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bundle = api.bundle_for("a1", ROOT)
    notebook = bundle.reference
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        print("warm-up (fills the reference calibration cache) ...", flush=True)
        graded(notebook, out)
        times = {"bare": [], "sandboxed": [], "graded": [], "hidden tests": []}
        by_question: dict[str, list[float]] = {}
        for r in range(args.rounds):
            times["bare"].append(bare(notebook))
            times["sandboxed"].append(sandboxed(notebook, bundle.spec.limits))
            total, tests = graded(notebook, out)
            times["graded"].append(total)
            times["hidden tests"].append(sum(tests.values()))
            for q, sec in tests.items():
                by_question.setdefault(q, []).append(sec)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nmedians over {args.rounds} rounds: " + ", ".join(f"{k} {v:.1f} s" for k, v in med.items()))
    print(f"sandboxed / bare = {med['sandboxed'] / med['bare']:.2f}x   (the sandbox's own overhead)")
    print(f"graded / bare    = {med['graded'] / med['bare']:.2f}x   "
          "(everything: sandbox, public checks, hidden tests, reports)")
    rest = med["graded"] - med["sandboxed"] - med["hidden tests"]
    print(f"(graded - hidden tests) / bare = {(med['graded'] - med['hidden tests']) / med['bare']:.2f}x   "
          f"(the grader's own overhead: {rest:.1f} s for start-up, public checks and reports)")
    print("hidden tests by question (median s): "
          + ", ".join(f"{q} {statistics.median(v):.1f}" for q, v in by_question.items()))


if __name__ == "__main__":
    main()

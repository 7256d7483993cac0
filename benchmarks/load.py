"""Load: 200 small submissions through a local batch of 2 workers and through Dask (a local scheduler, 2 workers).

The submissions are the test course's ``mini`` assignment (tests/course), a
mix of right, wrong, broken and untouched notebooks, so that the grader's own
machinery (sandboxes, kernels, the store), not training, is what is loaded.
Both runs grade the same class, one after the other on the same machine.
Prints for each: seconds, submissions per minute, the peak resident memory of
each grading process with its sandboxed kernels, and whether every submission
has its result in the store; then the ratio of the two throughputs.

    .venv/bin/python benchmarks/load.py [--count 200]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "hostile")]
from batch_throughput import PeakMemory  # noqa: E402
from make_corpus import HONEST, MODEL  # noqa: E402

MIX = {
    "right": [HONEST, MODEL],
    "no_model": [HONEST],
    "wrong_scale": [HONEST, "def scale(x, factor):\n    return np.asarray(x) + factor"],
    "slow_sum": [HONEST, "def fast_sum(x):\n    return float(sum(x))"],
    "broken": None,
}


def write_class(folder: Path, count: int, template: Path) -> None:
    folder.mkdir()
    kinds = itertools.cycle([*MIX, "template"])
    for i, kind in zip(range(count), kinds, strict=False):
        path = folder / f"s{i:03d}_{kind}.ipynb"
        if kind == "template":
            shutil.copy(template, path)
        elif MIX[kind] is None:
            path.write_text('{"cells": [')
        else:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.strip()) for c in MIX[kind]])
            nbformat.write(nb, path)


def grade(course: Path, folder: Path, out: Path, *extra: str, watch: int | None = None) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "autograder.cli", "--root", str(course), "grade", "mini",
                             str(folder), "-o", str(out), "--quiet", *extra], cwd=ROOT)
    memory = PeakMemory(watch or proc.pid)
    code = proc.wait()
    peaks = memory.stop()
    if code != 0:
        raise SystemExit(f"dlgrade grade {' '.join(extra)} failed with exit code {code}")
    return time.perf_counter() - start, peaks


def in_store(out: Path) -> int:
    db = sqlite3.connect(f"file:{out / 'gradebook.sqlite'}?mode=ro", uri=True)
    try:
        return db.execute("select count(*) from results where status in ('graded', 'rejected')").fetchone()[0]
    finally:
        db.close()


def dask_cluster(tmp: Path) -> tuple[str, list[subprocess.Popen]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp / "dask.log", "w")
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=subprocess.STDOUT, cwd=tmp),
             subprocess.Popen([*dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--memory-limit", "0",
                               "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, cwd=tmp)]
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    return address, procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="submissions (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlgrade-load-") as tmp_name:
        tmp = Path(tmp_name)
        course = tmp / "course"
        shutil.copytree(ROOT / "tests" / "course", course)
        print("building mini ...", flush=True)
        subprocess.run([sys.executable, "-m", "autograder.cli", "--root", str(course), "build", "mini"], check=True,
                       capture_output=True, cwd=ROOT)
        folder = tmp / "class"
        write_class(folder, args.count, course / "student_template" / "mini" / "mini.ipynb")
        print(f"{args.count} submissions: " + ", ".join([*MIX, "template"]) + " in turn", flush=True)

        runs = {}
        print("local batch, 2 workers ...", flush=True)
        runs["local batch, 2 workers"] = (*grade(course, folder, tmp / "local", "--workers", "2"), tmp / "local")
        print("Dask, a local scheduler and 2 workers ...", flush=True)
        address, procs = dask_cluster(tmp)
        try:
            runs["Dask, 2 workers"] = (*grade(course, folder, tmp / "dask", "--scheduler", address,
                                              watch=procs[1].pid), tmp / "dask")
        finally:
            for p in reversed(procs):
                p.terminate()
                p.wait(timeout=60)

        print(f"\n{'way':26} {'seconds':>8} {'subs/min':>9} {'in store':>9}  peak memory per grading process")
        rates = {}
        for name, (seconds, peaks, out) in runs.items():
            rates[name] = 60 * args.count / seconds
            peak = ", ".join(f"{v / 2**20:.0f} MB" for v in sorted(peaks.values(), reverse=True)[:4])
            print(f"{name:26} {seconds:8.0f} {rates[name]:9.1f} {in_store(out):>5}/{args.count}  {peak}")
            if in_store(out) != args.count:
                raise SystemExit(f"{name}: {args.count - in_store(out)} results missing from the store")
        names = list(rates)
        print(f"\n{names[1]} / {names[0]} throughput = {rates[names[1]] / rates[names[0]]:.2f}x")
        print("every submission has its result in both stores")


if __name__ == "__main__":
    main()

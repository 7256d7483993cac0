"""Does load_higgs stream? Peak memory reading a generated HIGGS file of a few hundred MB, two ways side by side.

- streamed: ``autograder.data.higgs.load_higgs(path, batch_size=4096)``
  iterated to the end (the tf.data pipeline a course would feed to ``fit``);
- whole: the same file read into one NumPy array, as a naive loader does.

Each runs in a fresh process; printed: the file's size, each way's peak
resident memory above the process's baseline after its imports, and the
ratio. Streaming must stay far below the file's size and flat in it.

    .venv/bin/python benchmarks/higgs_stream_memory.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
import tensorflow as tf
from autograder.data.higgs import load_higgs
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
rows = 0
if {way!r} == "streamed":
    for x, y in load_higgs({path!r}, batch_size=4096):
        rows += int(y.shape[0])
else:
    with open({path!r}) as f:
        table = np.array(f.read().replace("\n", ",").rstrip(",").split(","), dtype=np.float32).reshape(-1, 29)
    rows = len(table)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rows, (peak - base) * 1024, time.perf_counter() - start)
"""


def measure(way: str, path: Path) -> tuple[int, int, float]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT), way=way, path=str(path))],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="events in the generated file (default 1M)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from autograder.data.higgs import write_synthetic_higgs

    with tempfile.TemporaryDirectory(prefix="dlgrade-higgs-") as tmp:
        path = Path(tmp) / "HIGGS-like.csv"
        start = time.perf_counter()
        write_synthetic_higgs(path, args.rows)
        size = path.stat().st_size
        print(f"generated {args.rows:,} events, {size / 2**20:.0f} MB of CSV, in {time.perf_counter() - start:.0f} s")
        results = {way: measure(way, path) for way in ("streamed", "whole")}
    print(f"\n{'way':10} {'rows':>10} {'peak memory above baseline':>28} {'seconds':>8}")
    for way, (rows, peak, seconds) in results.items():
        print(f"{way:10} {rows:>10,} {peak / 2**20:>25.0f} MB {seconds:>8.1f}")
    streamed, whole = results["streamed"][1], results["whole"][1]
    print(f"\nstreamed / file size = {streamed / size:.2f}; whole / file size = {whole / size:.2f}; "
          f"whole / streamed = {whole / max(streamed, 1):.1f}x")


if __name__ == "__main__":
    main()

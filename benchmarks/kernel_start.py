"""Kernel start: a sandboxed kernel with a1's preload, exec'd by bubblewrap against forked from the zygote.

For each launch, starts ``--kernels`` kernels one after another, each in a
sandbox of its own with ``preload: [numpy, tensorflow, otter]`` imported, runs
one cell, and closes it. Prints the wall time per kernel (start, preload and
close) and the CPU-seconds the machine spent per kernel (all processes, from
/proc/stat), then exec / forked. The zygote's own start (one import of
everything, once per grading process) is reported apart. Needs root and
bubblewrap.

    .venv/bin/python benchmarks/kernel_start.py [--kernels 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from autograder.sandbox.jail import bubblewrap_status
from autograder.sandbox.kernel import Sandbox
from autograder.sandbox.zygote import close_zygotes, zygotes_enabled
from autograder.spec import Limits

PRELOAD = ("numpy", "tensorflow", "otter")


def machine_cpu_seconds() -> float:
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def one(forked: bool, limits: Limits) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), machine_cpu_seconds()
    with Sandbox(limits, isolate=True, zygote=forked, threads=1) as sb:
        assert (sb.zygote is not None) == forked
        sb.preload()
        run = sb.run("import tensorflow as tf\nprint(int(tf.reduce_sum(tf.ones((2, 2)))))")
        assert run.ok, run.error_line()
    return time.perf_counter() - wall, machine_cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", type=int, default=5)
    args = parser.parse_args()
    if not bubblewrap_status()[0] or not zygotes_enabled():
        raise SystemExit("needs bubblewrap and root (and DLGRADE_ZYGOTE unset)")
    limits = Limits(preload=PRELOAD)
    print(f"{os.cpu_count()} cores; {args.kernels} kernels each way, one after another; preload {list(PRELOAD)}\n")
    # The zygote's own start: once per grading process, paid by its first kernel.
    first_wall, first_cpu = one(True, limits)
    rows = {}
    for forked in (False, True):
        rows[forked] = [one(forked, limits) for _ in range(args.kernels)]
    print(f"{'launch':<30}{'wall s/kernel':>15}{'CPU s/kernel':>15}")
    for forked, label in ((False, "exec'd by bwrap"), (True, "forked from the zygote")):
        wall = statistics.median(w for w, _ in rows[forked])
        cpu = statistics.median(c for _, c in rows[forked])
        print(f"{label:<30}{wall:>15.2f}{cpu:>15.2f}")
    print(f"{'zygote start + first kernel':<30}{first_wall:>15.2f}{first_cpu:>15.2f}")
    ratio_wall = statistics.median(w for w, _ in rows[False]) / statistics.median(w for w, _ in rows[True])
    ratio_cpu = statistics.median(c for _, c in rows[False]) / statistics.median(c for _, c in rows[True])
    print(f"\nexec / forked: wall {ratio_wall:.1f}x, CPU {ratio_cpu:.1f}x (medians)")
    close_zygotes()


if __name__ == "__main__":
    main()

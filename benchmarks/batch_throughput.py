"""Batch throughput: one class of a1 submissions graded three ways in one run, side by side.

- ``dlgrade grade`` with the default number of workers;
- ``dlgrade grade --workers 1``;
- a plain loop of ``otter run`` (Otter's own local runner, no Docker, no
  sandbox) over the autograder zip that ``otter assign`` makes from the same
  master notebook. Otter's autograder holds only the public tests, so it does
  less work per submission than dlgrade's hidden tests; the ratio is still the
  one an instructor sees when switching.

The class is a mix of correct and wrong notebooks (the a1 examples, copied
under student names). Every dlgrade run starts from the same reference figures
(measured once, first), so each measures grading alone. Prints submissions per
minute and CPU seconds per submission for each way, the ratios, and the peak
memory of each worker process together with its sandboxed kernels (and, apart,
the batch's zygote that forks them).

    .venv/bin/python benchmarks/batch_throughput.py [--count 20]
    .venv/bin/python benchmarks/batch_throughput.py --against /tmp/before [--against /tmp/other] [--rounds 2]
                                          # this revision against others, alternating, in one run
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "assignments" / "a1" / "examples"
MIX = ["solution", "wrong_api_timer_saxpy", "template", "wrong_units_wait_loop", "wrong_dropout_training"]


class PeakMemory:
    """Polls a batch's process tree: the peak resident memory of each grading process with its kernels.

    A grading process's kernels are forked by the batch's zygote (a child of
    the batch itself), inside jails that the grading process started: a kernel
    counts for the grading process whose jail it is in (the same pid
    namespace). The zygote's own memory is kept apart.
    """

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.peaks: dict[int, int] = {}
        self.zygote_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        top = psutil.Process(self.pid)
        children = top.children()
        # Grading processes are spawned by multiprocessing (one worker grades in the batch itself).
        workers = [c for c in children if "spawn_main" in _cmd(c)] or [top]
        zygotes = [c for c in children if "zygote" in _cmd(c)]
        kernels = [k for z in zygotes for k in z.children(recursive=True)]
        for zygote in zygotes:
            self.zygote_peak = max(self.zygote_peak, _rss(zygote))
        for worker in workers:
            # The worker with its jails (the zygote and its kernels aside: they are counted by jail).
            tree = [p for p in [worker, *worker.children(recursive=True)] if "zygote" not in _cmd(p)]
            jails = {_pid_namespace(p) for p in tree} - {None, _pid_namespace(top)}
            total = sum(_rss(p) for p in tree) + sum(_rss(k) for k in kernels if _pid_namespace(k) in jails)
            self.peaks[worker.pid] = max(self.peaks.get(worker.pid, 0), total)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join()
        if len(self.peaks) > 1:  # sampled before its workers were spawned, the batch counted as one
            self.peaks.pop(self.pid, None)
        return self.peaks


def _cmd(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def _pid_namespace(process: psutil.Process) -> str | None:
    try:
        return os.readlink(f"/proc/{process.pid}/ns/pid")
    except OSError:
        return None


def dlgrade(folder: Path, out: Path, *extra: str, tree: Path = ROOT) -> tuple[float, dict[int, int], int]:
    """``dlgrade grade a1 FOLDER -o OUT`` with the code of ``tree`` (this checkout, or another revision's).

    Another checkout runs with its own ``.venv`` (a copy of this one whose editable install points at it), so
    that every process of its batch, the zygote included, imports its code.
    """
    start = time.perf_counter()
    python = tree / ".venv" / "bin" / "python" if tree != ROOT else Path(sys.executable)
    proc = subprocess.Popen([str(python), "-m", "autograder.cli", "grade", "a1", str(folder), "-o", str(out),
                             "--quiet", *extra], cwd=tree)
    memory = PeakMemory(proc.pid)
    code = proc.wait()
    peaks = memory.stop()
    if code != 0:
        raise SystemExit(f"dlgrade grade {' '.join(extra)} failed with exit code {code}")
    return time.perf_counter() - start, peaks, memory.zygote_peak


def otter_autograder(tmp: Path) -> Path:
    out = tmp / "otter-assign"
    master = ROOT / "solutions" / "a1" / "a1.ipynb"
    subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(out)],
                   check=True, capture_output=True, cwd=master.parent)
    return next((out / "autograder").glob("*.zip"))


def otter_loop(folder: Path, zip_path: Path, tmp: Path) -> float:
    start = time.perf_counter()
    for i, notebook in enumerate(sorted(folder.glob("*.ipynb"))):
        work = tmp / f"otter-{i}"
        work.mkdir()
        shutil.copy(notebook, work / "a1.ipynb")  # Otter's notebook finds itself by this name
        subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(work),
                        str(work / "a1.ipynb")], check=True, capture_output=True, cwd=work)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="submissions in the class (default 20)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", action="append",
                        help="instead: compare this checkout's batch with another revision's (a checkout with a "
                             ".venv of its own), round after round in one run; may be given more than once")
    parser.add_argument("--rounds", type=int, default=2, help="with --against: batches per checkout (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as tmp_name:
        tmp = Path(tmp_name)
        folder = tmp / "class"
        folder.mkdir()
        for i, example in zip(range(args.count), itertools.cycle(MIX), strict=False):
            shutil.copy(EXAMPLES / f"{example}.ipynb", folder / f"student{i:02d}.ipynb")
        print(f"{args.count} submissions: " + ", ".join(f"{MIX.count(m) * args.count // len(MIX)}× {m}"
                                                         for m in MIX), flush=True)
        if args.against:
            compare([a.resolve() for a in args.against], folder, tmp, args.count, args.rounds)
            return

        print("measuring the reference figures once ...", flush=True)
        calibrated = tmp / "calibrated"
        one = tmp / "one"
        one.mkdir()
        shutil.copy(EXAMPLES / "template.ipynb", one / "template.ipynb")
        dlgrade(one, calibrated)

        zip_path = otter_autograder(tmp)
        runs, cpu = {}, {}
        print("dlgrade grade (default workers) ...", flush=True)
        with cpu_seconds(cpu, "default"):
            runs["default"] = dlgrade(folder, tmp / "default", "--calibration-from", str(calibrated))
        print("dlgrade grade --workers 1 ...", flush=True)
        with cpu_seconds(cpu, "one"):
            runs["one"] = dlgrade(folder, tmp / "one-worker", "--workers", "1", "--calibration-from", str(calibrated))
        print("otter run, one submission after another ...", flush=True)
        with cpu_seconds(cpu, "otter"):
            otter_seconds = otter_loop(folder, zip_path, tmp)

    per_minute = {name: 60 * args.count / run[0] for name, run in runs.items()}
    otter_rate = 60 * args.count / otter_seconds
    workers = len(runs["default"][1])
    print(f"\n{'way':36} {'seconds':>8} {'subs/min':>9} {'CPU s/sub':>10}")
    rows = [(f"dlgrade grade ({workers} workers)", runs["default"][0], per_minute["default"], cpu["default"]),
            ("dlgrade grade --workers 1", runs["one"][0], per_minute["one"], cpu["one"]),
            ("otter run loop", otter_seconds, otter_rate, cpu["otter"])]
    for name, seconds, rate, used in rows:
        print(f"{name:36} {seconds:8.0f} {rate:9.2f} {used / args.count:10.1f}")
    print(f"\ndefault workers / 1 worker   = {per_minute['default'] / per_minute['one']:.2f}x  "
          "(goal >= 1.8x on 2 cores)")
    print(f"default workers / otter loop = {per_minute['default'] / otter_rate:.2f}x  (goal >= 2.5x)")
    for name, (_, peaks, zygote) in runs.items():
        if peaks:
            print(f"peak memory per worker ({name}): " + ", ".join(f"{v / 2**20:.0f} MB" for v in peaks.values())
                  + "  (the grading process with its sandboxed kernels)"
                  + (f"; the batch's zygote {zygote / 2**20:.0f} MB, shared" if zygote else ""))


def compare(others: list[Path], folder: Path, tmp: Path, count: int, rounds: int) -> None:
    """This checkout's batch against each of ``others``' on the same class, in turn each round (the order
    reversed every other round); each checkout with its own reference figures."""
    trees = {"this checkout": ROOT, **{str(other): other for other in others}}
    one = tmp / "one"
    one.mkdir()
    shutil.copy(EXAMPLES / "template.ipynb", one / "template.ipynb")
    calibrated = {}
    for name, tree in trees.items():
        print(f"measuring the reference figures once with {name} ...", flush=True)
        calibrated[name] = tmp / f"calibrated-{len(calibrated)}"
        dlgrade(one, calibrated[name], tree=tree)
    seconds: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    for r in range(rounds):
        # Every other round in the opposite order (A B, B A, A B, ...): a cost that falls on whichever batch
        # runs first or second in a round (a cold cache, a neighbour's leftovers) falls on each checkout alike.
        order = list(enumerate(trees.items()))
        for i, (name, tree) in order if r % 2 == 0 else reversed(order):
            used: dict[str, float] = {}
            with cpu_seconds(used, name):
                wall, _, _ = dlgrade(folder, tmp / f"round{r}-{i}", "--calibration-from", str(calibrated[name]),
                                     tree=tree)
            seconds[name].append(wall)
            cpu[name].append(used[name])
            print(f"round {r + 1}, {name}: {wall:.0f} s, {used[name] / count:.1f} CPU s/submission", flush=True)
    print(f"\n{'checkout':40} {'median s':>9} {'subs/min':>9} {'CPU s/sub':>10}")
    rates = {}
    for name in trees:
        wall = statistics.median(seconds[name])
        rates[name] = 60 * count / wall
        print(f"{name:40} {wall:9.0f} {rates[name]:9.2f} {statistics.median(cpu[name]) / count:10.1f}")
    this, *those = list(trees)
    print()
    for that in those:
        print(f"throughput, this checkout / {that} = {rates[this] / rates[that]:.3f}x")


@contextlib.contextmanager
def cpu_seconds(into: dict[str, float], name: str):
    """CPU seconds (user + system) of the processes run inside the block, all of them waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    yield
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    into[name] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    main()

"""Grading jobs on this machine: in the batch's own process (one worker) or in a pool of worker processes.

A worker process that dies takes only the submission it held with it: that
submission is tried once more in a new worker and then stored as an
``error`` (a rerun tries again), and the batch goes on.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import multiprocessing
import multiprocessing.connection
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from autograder.batch.jobs import Job, annotate
from autograder.batch.worker import AnyBundle, grade_one, make_grader, worker_main
from autograder.grading.steps import failed_result
from autograder.reports.files import write_student_files
from autograder.results import CalibrationFigures

#: A submission whose grading process died this many times is marked, not tried again.
MAX_ATTEMPTS = 2

#: What the batch does with each job's result (a dict, as it crossed from a worker): store it.
Finish = Callable[[Job, dict], None]


def failed(bundle: AnyBundle, job: Job, out: Path, error: BaseException) -> dict:
    """The stored form of a job whose grading broke down outside any grader (a worker died, a Dask task failed)."""
    result = annotate(failed_result(bundle.spec, job.path, job.student, error), job, bundle.spec)
    return write_student_files(result, out).to_dict()


def shared_slots(n: int) -> Any:
    """A semaphore of ``n`` grading slots that batches in one program share (``run(slots=...)``)."""
    return multiprocessing.get_context("spawn").BoundedSemaphore(n)


def run_here(bundle: AnyBundle, jobs: list[Job], out: Path, calibration: CalibrationFigures | None,
             isolate: bool | None, finish: Finish, slots: Any = None) -> None:
    """Every job in this process, one after another, with one grader."""
    grader = make_grader(bundle, calibration, isolate)
    grader.start_ahead()
    try:
        for i, job in enumerate(jobs):
            with slots if slots is not None else contextlib.nullcontext():
                data = grade_one(grader, job, out, prewarm=i + 1 < len(jobs))
            finish(job, data)
    finally:
        grader.close()


@dataclasses.dataclass
class _Worker:
    proc: Any  # multiprocessing's Process
    job: Job | None = None  # the job it holds, if any


class _Pool:
    """``n`` worker processes, each holding one job at a time, so that a death costs only that job.

    With shared ``slots`` a job is handed out only with a slot, taken and
    given back here, in the batch's own process: a worker killed mid-job
    cannot take its slot with it.
    """

    def __init__(self, worker_args: tuple, jobs: list[Job], finish: Finish, on_lost: Callable[[Job, Any], dict],
                 slots: Any = None):
        self.ctx = multiprocessing.get_context("spawn")
        self.worker_args = worker_args  # worker_main's arguments after the pipe
        self.pending = collections.deque(jobs)
        self.finish, self.on_lost, self.slots = finish, on_lost, slots
        self.workers: dict[Connection, _Worker] = {}  # by the parent's end of its pipe
        self.idle: list[Connection] = []  # workers waiting for a job (or a slot)

    def spawn(self) -> None:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=worker_main, args=(child, *self.worker_args), name="dlgrade-worker")
        proc.start()
        child.close()
        self.workers[parent] = _Worker(proc)
        self.idle.append(parent)

    @staticmethod
    def send(conn: Connection, message: Any) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):  # it just died; its sentinel says so next
            pass

    def hand_out(self) -> None:
        """Jobs to idle workers while there are jobs (and slots); with no jobs left, idle workers may go."""
        while self.idle:
            if not self.pending:
                for conn in self.idle:
                    self.send(conn, None)
                self.idle.clear()
                return
            if self.slots is not None and not self.slots.acquire(block=False):
                return
            conn = self.idle.pop(0)
            job = self.workers[conn].job = self.pending.popleft()
            self.send(conn, (job, bool(self.pending)))

    def _release(self, worker: _Worker) -> None:
        if worker.job is not None and self.slots is not None:
            self.slots.release()
        worker.job = None

    def lost(self, conn: Connection) -> None:
        """A worker died: its job goes to a new worker, or after ``MAX_ATTEMPTS`` deaths is stored as failed."""
        worker = self.workers.pop(conn)
        conn.close()
        worker.proc.join(timeout=5)
        if conn in self.idle:
            self.idle.remove(conn)
        job = worker.job
        self._release(worker)
        if job is not None:
            job.attempts += 1
            if job.attempts < MAX_ATTEMPTS:
                self.pending.appendleft(job)
            else:
                self.finish(job, self.on_lost(job, worker.proc.exitcode))
        if self.pending:
            self.spawn()

    def receive(self, conn: Connection) -> None:
        """A worker's message: a result (stored after the worker has its next job), or a fatal start."""
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError):
            self.lost(conn)
            return
        if kind == "fatal":
            raise RuntimeError(f"a grading process could not start:\n{payload}")
        worker = self.workers[conn]
        job = worker.job
        self._release(worker)
        self.idle.append(conn)
        self.hand_out()  # the worker's next job first: storing this result must not keep it waiting
        if job is not None:
            self.finish(job, payload)

    def busy(self) -> bool:
        return bool(self.pending) or any(w.job is not None for w in self.workers.values())

    def run(self, n: int) -> None:
        try:
            for _ in range(n):
                self.spawn()
            self.hand_out()
            while self.busy():
                sentinels = {w.proc.sentinel: conn for conn, w in self.workers.items()}
                # Idle workers wait for a slot another batch holds: look again now and then.
                timeout = 0.5 if self.idle and self.pending else None
                for ready in multiprocessing.connection.wait([*self.workers, *sentinels], timeout=timeout):
                    conn = sentinels.get(ready, ready)
                    if conn in self.workers:
                        self.receive(conn)
                self.hand_out()
        finally:
            self.stop()

    def stop(self) -> None:
        for conn, worker in list(self.workers.items()):
            self._release(worker)
            self.send(conn, None)
        for worker in self.workers.values():
            worker.proc.join(timeout=30)
            if worker.proc.is_alive():
                worker.proc.kill()
                worker.proc.join()


def run_pool(n: int, bundle: AnyBundle, jobs: list[Job], out: Path, calibration: CalibrationFigures | None,
             isolate: bool | None, threads: int, finish: Finish, slots: Any = None,
             zygotes: dict[str, str] | None = None) -> None:
    """Every job in ``n`` worker processes (see ``_Pool``); each result to ``finish`` as it arrives."""
    def on_lost(job: Job, exitcode: Any) -> dict:
        error = RuntimeError(f"the grading process died {job.attempts} times on this submission "
                             f"(last exit code {exitcode})")
        return failed(bundle, job, out, error)

    _Pool((bundle, calibration, isolate, threads, out, zygotes or {}), jobs, finish, on_lost, slots).run(n)

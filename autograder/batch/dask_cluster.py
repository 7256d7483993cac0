"""Grading jobs on a Dask cluster: each job a task; a lost worker's tasks are rescheduled by Dask.

The bundle, the submissions and the results folder must be at the same paths
on every worker (one machine, or a shared file system); results come back to
the batch's process, which stores them.
"""

from __future__ import annotations

import atexit
import socket
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from autograder.batch.jobs import Job
from autograder.batch.pool import Finish, failed
from autograder.batch.worker import AnyBundle, grade_one, make_grader
from autograder.errors import UsageError
from autograder.grading.contract import Grader
from autograder.results import CalibrationFigures

_graders = threading.local()
_all_graders: list[Grader] = []


def _grade_on_dask_worker(bundle: AnyBundle, job: Job, out: str, calibration: CalibrationFigures | None,
                          isolate: bool | None) -> dict:
    """A Dask task: grade one job with this worker thread's grader (made on first use, kept)."""
    key = (str(getattr(bundle, "root", "")), getattr(bundle, "digest", ""), isolate)
    graders = getattr(_graders, "by_bundle", None)
    if graders is None:
        graders = _graders.by_bundle = {}
    if key not in graders:
        graders[key] = make_grader(bundle, calibration, isolate)
        _all_graders.append(graders[key])
    return grade_one(graders[key], job, Path(out))


@atexit.register
def _close_graders() -> None:
    for grader in _all_graders:
        grader.close()


def dask_client(scheduler: str) -> Any:
    """A client of the Dask scheduler at ``scheduler``; ``UsageError`` when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask's distributed package: pip install distributed") from None
    _refused_at_once(scheduler)
    try:
        return Client(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise UsageError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({e})") from None


def _refused_at_once(scheduler: str) -> None:
    """``UsageError`` now where a ``tcp://`` address's host answers that nothing listens there (Dask's client
    would retry it for its whole timeout); any other address is left to the client."""
    parsed = urllib.parse.urlsplit(scheduler)
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        return
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=5).close()
    except ConnectionRefusedError as e:
        raise UsageError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({e.strerror}: nothing "
                         "listens on that port)") from None
    except OSError:
        return  # unreachable, slow or unnamed: the client says so in its own words


def run_dask(client: Any, bundle: AnyBundle, jobs: list[Job], out: Path, calibration: CalibrationFigures | None,
             isolate: bool | None, finish: Finish) -> None:
    """Every job as a task on the cluster; each result to ``finish`` as it arrives."""
    from distributed import as_completed

    futures = {}
    for job in jobs:
        future = client.submit(_grade_on_dask_worker, bundle, job, str(out), calibration, isolate,
                               key=f"dlgrade-{job.student}-{job.sha256[:12]}", pure=False, retries=1)
        futures[future] = job
    for future in as_completed(futures):
        job = futures[future]
        try:
            data = future.result()
        except Exception as e:  # the task kept failing, or its workers kept dying
            data = failed(bundle, job, out, e)
        finish(job, data)

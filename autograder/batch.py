"""Many submissions: a process pool of graders, each result stored the moment it is done.

Run the same command again after a crash or a kill and only what is missing,
changed, or broke is graded again (``force`` grades everything).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
from pathlib import Path
from typing import Callable

from autograder import hardware, intake
from autograder.grade import Bundle, Grader, failed_result
from autograder.reports import write_summary
from autograder.results import GradingResult
from autograder.store import Store, file_hash, write_gradebook


@dataclasses.dataclass
class Job:
    path: Path
    student: str
    sha256: str


def default_workers(memory_mb: int) -> int:
    """As many graders as the cores allow, and as the memory allows at each kernel's cap."""
    machine = hardware.machine()
    by_memory = max(1, int((machine.get("memory_mb") or memory_mb) // (memory_mb + 1024)))
    return max(1, min(machine.get("cores") or 1, by_memory))


def plan(files: list[Path], store: Store, student: str | None = None, force: bool = False) -> tuple[list[Job], list[str]]:
    """The jobs to run, and the students whose stored results are still current."""
    jobs, done, seen = [], [], {}
    for f in files:
        ident = student or intake.student_id(f)
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] > 1:  # alice.ipynb and alice.zip: both graded, neither overwritten
            ident = f"{ident}-{seen[ident]}"
        sha = file_hash(f)
        if not force and store.current(ident, sha):
            done.append(ident)
        else:
            jobs.append(Job(f, ident, sha))
    return jobs, done


_grader: Grader | None = None


def _start_worker(bundle: Bundle, calibration: Path, isolate: bool | None) -> None:
    global _grader
    _grader = Grader(bundle, calibration_file=calibration, isolate=isolate)


def _grade_one(job: Job, out: Path) -> dict:
    try:
        result = _grader.grade(job.path, out, student=job.student)
    except Exception as e:  # a fault of ours or the machine's: record it, grade the rest
        result = failed_result(_grader.spec, job.path, out, job.student, e)
    return result.to_dict()


def run(bundle: Bundle, files: list[Path], out: Path, workers: int = 1, student: str | None = None,
        isolate: bool | None = None, force: bool = False,
        on_result: Callable[[GradingResult], None] | None = None) -> list[GradingResult]:
    """Grade ``files`` into ``out``; returns every student's stored result, old and new."""
    out.mkdir(parents=True, exist_ok=True)
    calibration = out / "calibration.json"
    with Store(out / "gradebook.sqlite") as store:
        jobs, _ = plan(files, store, student, force)
        if workers <= 1 or len(jobs) <= 1:
            _start_worker(bundle, calibration, isolate)
            try:
                for job in jobs:
                    _finish(GradingResult.from_dict(_grade_one(job, out)), job, store, on_result)
            finally:
                _grader.close()
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                                        initializer=_start_worker, initargs=(bundle, calibration, isolate)) as pool:
                futures = {pool.submit(_grade_one, job, out): job for job in jobs}
                for future in cf.as_completed(futures):
                    job = futures[future]
                    try:
                        result = GradingResult.from_dict(future.result())
                    except Exception as e:  # the worker itself died: mark it, a rerun grades it again
                        result = failed_result(bundle.spec, job.path, out, job.student, e)
                    _finish(result, job, store, on_result)
        results = store.results()
    write_class_reports(results, out)
    return results


def write_class_reports(results: list[GradingResult], out: Path) -> None:
    write_gradebook(results, out / "gradebook.csv")
    write_summary(results, out / "summary.html")


def _finish(result: GradingResult, job: Job, store: Store, on_result) -> None:
    store.put(result, job.sha256)
    if on_result:
        on_result(result)


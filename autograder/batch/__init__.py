"""Many submissions: a batch plans, calibrates, grades in parallel (here or on Dask) and stores each result.

Rooms, each one job:

- ``options``: ``GradeOptions`` (the choices of ``dlgrade grade``) and ``BatchEvents`` (who hears what it does);
- ``jobs``: ``plan`` (which files, as whom) and ``annotate`` (identity and late penalty on a result);
- ``calibrate``: the reference figures, once per batch;
- ``worker``: a grading process's program, and the grader for a bundle;
- ``pool``: jobs in this process or in a pool of worker processes;
- ``dask_cluster``: jobs as tasks on a Dask cluster;
- ``runner``: ``run``, the batch start to end.
"""

from autograder.batch.options import BatchEvents, GradeOptions
from autograder.batch.pool import shared_slots
from autograder.batch.runner import BatchReport, default_workers, run

__all__ = ["BatchEvents", "BatchReport", "GradeOptions", "default_workers", "run", "shared_slots"]

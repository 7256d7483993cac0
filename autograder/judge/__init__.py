"""The judge: hidden tests run in the trusted grader, against a narrow handle to the submission's kernel.

Rooms, each one job:

- ``authoring``: ``@test_case`` and ``@reference_figure``, what an instructor writes tests with;
- ``handle``: ``Handle``, what a test may ask of the kernel (calls, timings, files, probes);
- ``wire``: what crosses to and from the kernel (JSON and ``.npy`` files, never pickles);
- ``context``: ``Context``, a test's thresholds, notes, plots and speed checks;
- ``calibration``: figures measured on the reference solution on this machine;
- ``loader``: finding and importing ``hidden/q<N>_*.py``, once per process;
- ``runner``: ``judge``, every test against one submission;
- ``agent/``: the code that runs inside the kernel (another process).

Hidden tests import what they need from here (this ``__init__`` loads no
sandbox, so that building an assignment, which imports its hidden tests,
needs none)::

    from autograder.judge import NotGraded, Remote, reference_figure, test_case

See docs/AUTHORING.md.
"""

from autograder.errors import CallTimeout, NotDefined, NotGraded, SubmissionError
from autograder.judge.authoring import TestCase, reference_figure, test_case
from autograder.judge.wire import Probe, Remote

__all__ = ["CallTimeout", "NotDefined", "NotGraded", "Probe", "Remote", "SubmissionError", "TestCase",
           "reference_figure", "test_case"]

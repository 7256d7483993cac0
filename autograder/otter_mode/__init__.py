"""Otter mode: plain Otter assignments, graded by Otter's own runner inside dlgrade's sandbox.

An autograder zip from ``otter assign`` or ``otter generate`` (OK-format or
exception-format tests) becomes an ``OtterBundle``, whose ``spec`` is a
synthesised ``Assignment``: one question per test file, its points resolved as
Otter resolves them. ``OtterGrader`` has ``Grader``'s interface: for every
submission it makes a fresh ``Sandbox``, puts the zip in ``in/`` (read-only
inside) and the notebook in ``work/`` under the assignment's file name (so that
``otter.Notebook("hw1.ipynb")`` finds a notebook Canvas renamed), and runs
``otter run`` there through our ``launcher``, without Docker, under the
sandbox's limits, a time limit for the whole run and one for each of the
student's cells (the spec's ``cell_timeout``): a cell past it is interrupted,
named in a note ("cell 7: stopped after 2 s (the limit per cell is 2 s); …"),
and the later cells and Otter's tests still run, as in dlgrade's own mode.
Otter's ``results.json`` is read back without following links and within a
size cap, and each question's score becomes one
``TestResult`` (named after the question, ``hidden`` when any of its cases
is) with Otter's output for it as the message; questions are shown as Otter's
results.json shows them (``hidden``, or ``after_published`` with
``show_hidden``). Otter's runner installs nothing, so what the zip asks for
must already be installed here (``OtterBundle.unmet_requirements`` lists what
is not).

The zip does not record the notebook's file name. It is ``notebook_name``
where given (``--notebook-name``), else read from otter assign's zip name
(``<notebook>-autograder_<timestamp>.zip``), else, for each submission, from
its own ``otter.Notebook("...")`` call, else its file's name (Canvas's
prefix taken off).

Outcomes (``GradingResult.status``):

* ``graded``: Otter's per-question scores, exactly as ``otter run`` gives them
  (clamped to 0..max, which only a tampered result could leave).
* ``rejected`` (never regraded by a rerun; every question 0):
  the file is not a notebook (intake); the run went past the time limit
  (message "ran past the N s time limit; not graded", naming the cell that was
  running, e.g. one that catches ``KeyboardInterrupt`` and goes on; the runner
  and the kernel are killed and the batch goes on); Otter refused the submission (e.g. another
  assignment's notebook) or could not read its results; the notebook's kernel
  died; the results file was replaced by a link or is oversized or malformed.
  A timeout is "rejected" rather than "error" because it is the submission's
  doing and a rerun would only time out again; rerun with force to regrade.
* ``error``: Otter's runner wrote no results for any other reason (e.g. it is
  broken here); a rerun grades the submission again.

Trust: in Otter mode the hidden tests sit in the sandbox with the submission,
and the submission's own kernel runs them; that is Otter's design, and such a
submission could read or fake its tests. Our sandbox still protects the host,
the grader and the other students: the submission sees no files of the host,
no network, no other submission, and runs as an unprivileged uid within limits.
The zip's test files are never executed in the grader: their points are read
with ``ast``.

Rooms: ``bundle`` (the zip as an ``OtterBundle``), ``test_files`` (Otter's
test files read with ``ast``), ``grader`` (``OtterGrader``), ``launcher``
(``otter run`` with a limit per cell: a script run inside the sandbox).
"""

from autograder.otter_mode.bundle import OtterBundle
from autograder.otter_mode.grader import OtterGrader

__all__ = ["OtterBundle", "OtterGrader"]

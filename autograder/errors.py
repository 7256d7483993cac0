"""Every error dlgrade raises, beneath one root, ``DlgradeError``.

A caller that wants to tell dlgrade's own refusals from bugs catches
``DlgradeError``; each subclass also derives from the built-in exception a
Python user would expect (a bad file is a ``ValueError``, a full disk an
``OSError``), so existing ``except ValueError`` code keeps working.

Errors for people say what is wrong and where (file, key, row, cell) and,
where there is one, what to do; no traceback is the whole message.
"""

from __future__ import annotations

import enum
from pathlib import Path


class DlgradeError(Exception):
    """The root of every error dlgrade raises on purpose."""


# -- inputs a person wrote ---------------------------------------------------------


class SpecError(DlgradeError, ValueError):
    """An assignment spec that cannot be used; the message names the file and the key."""

    def __init__(self, file: Path | str, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{file}: {key}: {problem}")


class BuildError(DlgradeError, RuntimeError):
    """The assignment cannot be built; the message says which file and why."""


class IntakeError(DlgradeError, ValueError):
    """A submission that cannot be graded; the message names the file and what is wrong."""


class RosterError(DlgradeError, ValueError):
    """A roster that cannot be used; the message names the file, the row and the column."""

    def __init__(self, file: Path | str, row: int | None, column: str | None, problem: str):
        self.file, self.row, self.column, self.problem = str(file), row, column, problem
        where = ", ".join(part for part in (
            f"row {row}" if row is not None else "",
            f"column {column!r}" if column is not None else "",
        ) if part)
        super().__init__(f"{file}: {where + ': ' if where else ''}{problem}")


class OtterBundleError(DlgradeError, ValueError):
    """An Otter autograder zip that cannot be used; the message names the zip (and member) and what is wrong."""


class UsageError(DlgradeError, ValueError):
    """A request that cannot be carried out as asked (a missing flag, an unreachable scheduler, ...)."""


# -- data --------------------------------------------------------------------------


class DataUnavailable(DlgradeError, RuntimeError):
    """A data set that is not on this machine and cannot be fetched; the message says where to get it."""


class HiggsFormatError(DlgradeError, ValueError):
    """A file that is not in the layout of UCI's HIGGS.csv(.gz); the message names the line and the field."""


# -- the machinery -----------------------------------------------------------------


class SandboxError(DlgradeError, RuntimeError):
    """The sandbox could not be started or stopped working."""


class StoreError(DlgradeError, OSError):
    """The gradebook store could not be written: a full disk, a read-only folder, an I/O error."""


class GraderFault(DlgradeError):
    """The grader's own machinery failed (its disk, say): the grading breaks down and is redone, no test fails."""


# -- what a hidden test meets --------------------------------------------------------


class ErrorKind(enum.StrEnum):
    """Why a call into the submission failed (``SubmissionError.kind``)."""

    RAISED = "raised"  # the submission's code raised an exception (its name: ``SubmissionError.raised``)
    NOT_DEFINED = "not_defined"  # the name the judge asked for is not defined in the kernel
    TIMEOUT = "timeout"  # the call ran past its time limit
    DIED = "died"  # the kernel died during the call, or could not be restarted
    BUDGET = "budget"  # the submission's time for all the judge's calls was spent
    KERNEL = "kernel"  # the grader could not talk to the kernel at all
    PROTOCOL = "protocol"  # the kernel sent back something unreadable (a malformed answer, a pickle)
    MISSING = "missing"  # a file the judge wanted to read was not written
    PATH = "path"  # a file the judge wanted to read is a link, a device, or outside the submission's folder
    SIZE = "size"  # a file or answer is over its size limit
    WRONG = "wrong"  # an answer came back but is not what was asked for (a timed call's wrong result)


class SubmissionError(DlgradeError, AssertionError):
    """The submission's code failed while the judge used it; the message is for the student.

    An ``AssertionError``, so a hidden test that does not catch it simply fails.
    ``raised`` names the exception type the submission raised (``ErrorKind.RAISED``).
    """

    def __init__(self, message: str, kind: ErrorKind = ErrorKind.RAISED, raised: str = ""):
        super().__init__(message)
        self.kind = kind
        self.raised = raised


class NotDefined(SubmissionError):
    """A name the judge asked for is not defined in the submission's kernel."""

    def __init__(self, message: str):
        super().__init__(message, ErrorKind.NOT_DEFINED, "NameError")


class CallTimeout(SubmissionError):
    """A call into the submission ran past its time limit."""

    def __init__(self, message: str):
        super().__init__(message, ErrorKind.TIMEOUT)


class NotGraded(DlgradeError):
    """A test that cannot be graded on this machine (e.g. no GPU); it scores nothing and says why."""


def first_line(text: str, limit: int = 400) -> str:
    """The first (up to three) non-blank lines of a message, joined with " / ": a one-line report of an error."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[:3])[:limit]

"""Running an assignment's hidden tests against one submission: each test alone, each verdict a record.

One failing, hanging or crashing test costs only its own points; a test that
cannot be graded here (no GPU, no reference) scores nothing and says why. A
fault of the grader's own (``GraderFault``) or of the spec (``SpecError``)
is raised, never turned into a student's failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import time
from collections.abc import Callable
from typing import Any

from autograder.errors import GraderFault, NotGraded, SpecError, SubmissionError, first_line
from autograder.judge.authoring import TestCase
from autograder.judge.calibration import Calibration
from autograder.judge.context import Context
from autograder.judge.handle import Handle
from autograder.results import Plot, TestResult, TestStatus
from autograder.spec import Assignment, Question

#: Seconds a housekeeping request (a seed, determinism) may take: a kernel that hangs on one fails its tests.
HOUSEKEEPING_TIMEOUT = 15.0


def test_seed(assignment: str, question: str, test: str) -> int:
    """A seed of its own for each hidden test, the same in every grading."""
    return int.from_bytes(hashlib.sha256(f"{assignment}/{question}/{test}".encode()).digest()[:4], "little")


test_seed.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def _quietly(request: Callable[..., Any], *args: Any) -> Any:
    """A housekeeping request to the kernel; a kernel that is gone or broken fails the tests themselves, not this."""
    try:
        return request(*args, timeout=HOUSEKEEPING_TIMEOUT)
    except (SubmissionError, OSError, RuntimeError, ValueError):
        return None


def judge(handle: Handle | None, spec: Assignment, tests: dict[str, list[TestCase]], gpu: bool,
          calibration: Calibration, setup_error: str = "") -> tuple[list[TestResult], list[Plot]]:
    """Every hidden test's result, and the plots they drew; ``handle`` None: the notebook could not be run.

    Raises ``SpecError`` and ``GraderFault`` (the grading breaks down); every
    other exception of a test is that test's failure.
    """
    results: list[TestResult] = []
    plots: list[Plot] = []
    for qname, cases in tests.items():
        question = spec.questions[qname]
        deterministic = question.deterministic and handle is not None and _quietly(handle.determinism, True)
        runs = not (question.gpu_only and not gpu)
        for case in cases:
            if runs and handle is not None:
                # Python's, NumPy's and TensorFlow's seeds, fixed per test: what a test leaves unseeded
                # (a weight initialiser, a shuffle) starts from the same state in every grading.
                _quietly(handle.seed, test_seed(spec.id, qname, case.name))
            results.append(_run_one(case, handle, spec, question, gpu, calibration, plots, setup_error))
        if deterministic and handle is not None:
            _quietly(handle.determinism, False)
    return results, plots


def _run_one(case: TestCase, handle: Handle | None, spec: Assignment, question: Question, gpu: bool,
             calibration: Calibration, plots: list[Plot], setup_error: str) -> TestResult:
    ctx = Context(spec, question, gpu, calibration, plots,
                  frozen=handle.run.sandbox.frozen if handle is not None else contextlib.nullcontext)
    result = TestResult(question.name, case.name, 0.0, case.points, TestStatus.FAILED, case.hidden, hint=case.hint,
                        source=inspect.getsource(case.fn) if spec.show_hidden_tests else "")
    start = time.perf_counter()
    spent_before = calibration.spent
    if question.gpu_only and not gpu:
        result.status, result.message = TestStatus.NOT_GRADED, "not graded on this machine: no GPU"
    elif handle is None:
        result.message = setup_error or "the notebook could not be run"
    else:
        handle.called.clear()
        try:
            case.fn(handle, ctx)
            result.status, result.points = TestStatus.PASSED, case.points
        except NotGraded as e:
            result.status, result.message = TestStatus.NOT_GRADED, f"not graded on this machine: {e}"
        except SubmissionError as e:
            result.message = str(e)
        except AssertionError as e:
            result.message = first_line(str(e)) or "a check failed"
        except (SpecError, GraderFault):
            raise
        except Exception as e:  # a bug in the submission's result, or in the test
            result.message = f"{type(e).__name__}: {first_line(str(e))}"
        finally:
            handle.close()  # the clean peers a test started end with it: no idle kernel waits through the rest
    result.seconds = time.perf_counter() - start
    if handle is not None and handle.deadline is not None:
        handle.deadline += calibration.spent - spent_before  # calibrating is not the student's time
    result.notes.extend(ctx.notes)
    result.measured.extend(ctx.measured)
    if handle is not None and result.status == TestStatus.FAILED:
        result.notes.extend(_redefinitions(handle))
    return result


def _redefinitions(handle: Handle) -> list[str]:
    """For a failed test: each notebook name it called that several cells define, and which definition counted."""
    notes = []
    for name in sorted(handle.called):
        cells = handle.run.definers(name)
        if len(cells) > 1:
            labels = ", ".join(c.label for c in cells[:-1])
            notes.append(f"`{name}` is defined in {labels} and again in {cells[-1].label}: the last definition, "
                         f"in {cells[-1].label}, is the one graded")
    return notes

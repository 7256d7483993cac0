"""Hidden tests found and imported: ``hidden/q<N>_*.py`` of an assignment, checked against its spec.

Each file is imported once per grading process (``load_hidden`` keeps what it
imported while the files and the spec are unchanged), under a module name of
its own; its ``@test_case`` functions become the question's tests, in the
order they are written, and its ``@reference_figure`` functions the figures a
batch measures on the reference solution.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from autograder.errors import SpecError
from autograder.judge.authoring import TestCase
from autograder.judge.calibration import Measure
from autograder.spec import Assignment


@dataclasses.dataclass
class HiddenTests:
    """An assignment's hidden tests by question, and the reference figures they declare."""

    tests: dict[str, list[TestCase]]
    figures: dict[str, Measure]


_LOADED: dict[tuple, HiddenTests] = {}
_LOCK = threading.Lock()


def _fingerprint(spec: Assignment, hidden_dir: Path) -> tuple:
    """What the hidden tests depend on: every file's name, size and time, and the spec file's."""
    files = [spec.file, *sorted(hidden_dir.glob("q*.py"))]
    stats: list[tuple[str, int | None, int | None]] = []
    for f in files:
        try:
            st = f.stat()
            stats.append((str(f), st.st_size, st.st_mtime_ns))
        except OSError:
            stats.append((str(f), None, None))
    return (str(hidden_dir.resolve()), tuple(stats))


def load_hidden(spec: Assignment, hidden_dir: Path | None = None) -> HiddenTests:
    """Import ``hidden/q<N>_*.py``, once per process while they are unchanged.

    Raises ``SpecError`` (naming the file or the spec's key) for a file of a
    question the spec does not have, one that fails to import, a figure
    declared twice, a question without tests, or tests whose points do not
    add up to the question's.
    """
    hidden_dir = hidden_dir or spec.hidden_dir
    key = _fingerprint(spec, hidden_dir)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _import_all(spec, hidden_dir)
        return _LOADED[key]


def load_tests(spec: Assignment, hidden_dir: Path | None = None) -> dict[str, list[TestCase]]:
    """The hidden tests of an assignment, by question (see ``load_hidden``)."""
    return load_hidden(spec, hidden_dir).tests


def _import_all(spec: Assignment, hidden_dir: Path) -> HiddenTests:
    tests: dict[str, list[TestCase]] = {q: [] for q in spec.questions}
    figures: dict[str, Measure] = {}
    for file in sorted(hidden_dir.glob("q*.py")):
        question = file.stem.split("_", 1)[0]
        if question not in spec.questions:
            raise SpecError(file, "(file name)", f"names question {question!r}, which {spec.file} does not have")
        functions = _functions_of(file, f"dlgrade_hidden_{spec.id}_{file.stem}")
        found = [f.__dlgrade_test__ for f in functions if hasattr(f, "__dlgrade_test__")]
        found.sort(key=lambda t: t.fn.__code__.co_firstlineno)
        tests[question].extend(found)
        for f in functions:
            name = getattr(f, "__dlgrade_figure__", None)
            if name is None:
                continue
            if name in figures:
                raise SpecError(file, f.__name__, f"reference figure {name!r} is declared twice")
            if len(inspect.signature(f).parameters) >= 2:
                f = functools.partial(f, thresholds=dict(spec.questions[question].thresholds))
            figures[name] = f
    for name, question_spec in spec.questions.items():
        total = sum(t.points for t in tests[name])
        if not tests[name]:
            raise SpecError(spec.file, f"questions.{name}", f"no hidden tests in {hidden_dir}/{name}_*.py")
        if abs(total - question_spec.points) > 1e-9:
            raise SpecError(spec.file, f"questions.{name}.points",
                            f"is {question_spec.points:g} but its hidden tests are worth {total:g}")
    return HiddenTests(tests, figures)


def _functions_of(file: Path, module_name: str) -> list[Callable]:
    """The functions a hidden test file defines (not those it imports); ``SpecError`` if it fails to import."""
    module_spec = importlib.util.spec_from_file_location(module_name, file)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(file, "(import)", "cannot be imported as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        raise SpecError(file, "(import)", f"the hidden test file fails to import: {type(e).__name__}: {e}") from e
    return [f for _, f in inspect.getmembers(module, inspect.isfunction) if f.__module__ == module_name]

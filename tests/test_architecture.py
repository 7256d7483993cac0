"""The house: imports run one way down the stages, rooms stay small, one error root, processes import what they need.

Read from the code itself: import-linter reads every import of the package
against the layers in ``pyproject.toml`` (``[tool.importlinter]``); the
rest walks the package's files and modules.
"""

import ast
import importlib
import importlib.metadata
import inspect
import pkgutil
import subprocess
import sys

import pytest
from support import ROOT

import autograder
from autograder.errors import DlgradeError

PACKAGE = ROOT / "autograder"
#: The programs of other processes: never imported by the grader (their text or ``python -m`` runs them).
OTHER_PROCESSES = {"autograder.judge.agent.kernel_agent", "autograder.sandbox.zygote_server"}


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=ROOT).stdout.strip()


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(autograder.__path__, "autograder.")
                  if m.name not in OTHER_PROCESSES)


def test_imports_only_run_down_the_stages_and_never_in_a_circle():
    """The layers in pyproject.toml: no stage imports a later one, directly or through a third module."""
    importlinter = pytest.importorskip("importlinter.cli")
    assert importlinter.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                                     no_logo=True) == 0, "lint-imports found an import running back up (see above)"


def test_the_layers_name_every_module_of_the_package():
    """A new module or room must take its place in the layers, or no contract would see it."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    unplaced = []
    for contract in contracts:
        named = {part.strip() for layer in contract["layers"] for part in layer.split("|")}
        for container in contract.get("containers", ["autograder"]):
            depth = container.count(".") + 1
            rooms = {m.split(".")[depth] for m in _modules() + sorted(OTHER_PROCESSES)
                     if m.startswith(container + ".") and m.count(".") >= depth}
            prefix = "" if "containers" in contract else "autograder."
            unplaced += [f"{container}.{r}" for r in rooms - {"_deferred"} if prefix + r not in named]
    assert not unplaced, unplaced


def test_no_file_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_every_exception_dlgrade_defines_derives_from_the_root():
    mine = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                mine.append(cls)
    assert len(mine) >= 12
    assert all(issubclass(cls, DlgradeError) for cls in mine), [c for c in mine if not issubclass(c, DlgradeError)]


def test_code_of_other_processes_is_never_imported_by_the_grader():
    out = _run("import sys, autograder.cli, autograder.api, autograder.batch.worker, autograder.grading.notebook; "
               f"print([m for m in {sorted(OTHER_PROCESSES)!r} if m in sys.modules])")
    assert out == "[]"


def test_the_zygote_imports_nothing_of_the_grader():
    """``python -m autograder.sandbox.zygote_server`` loads the package's and the sandbox's __init__ only."""
    out = _run("import runpy, sys; sys.argv = ['x']; import autograder.sandbox; "
               "print(sorted(m for m in sys.modules if m.startswith('autograder')))")
    assert out == "['autograder', 'autograder._deferred', 'autograder.sandbox']"


def test_dlgrade_report_loads_no_sandbox_and_no_kernel_client(tmp_path):
    from autograder.results import GradingResult, ResultStatus
    from autograder.store import Store

    with Store(tmp_path / "gradebook.sqlite") as store:
        store.put(GradingResult(assignment="a9", student="ann", source="ann.ipynb", status=ResultStatus.REJECTED,
                                message="not a notebook"), "0" * 64)
    out = _run(f"import sys, autograder.cli as cli; code = cli.main(['report', {str(tmp_path)!r}]); "
               "print(code, [m for m in sys.modules if m.startswith(('autograder.sandbox.', 'jupyter_client', "
               "'autograder.judge.handle', 'autograder.execute'))])")
    assert out.splitlines()[-1] == "0 []"
    assert (tmp_path / "ann" / "feedback.html").exists() and (tmp_path / "summary.html").exists()


def test_every_public_function_says_what_it_does():
    """Public functions and classes of the package carry a docstring (tests read like the docs they point to)."""
    missing = []
    for path in PACKAGE.rglob("*.py"):
        if ".".join(path.relative_to(ROOT).with_suffix("").parts) in OTHER_PROCESSES:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                if ast.get_docstring(node) is None:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, missing


# -- what every process pays at its start -----------------------------------------------


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


rfc3987 = pytest.mark.skipif(not _installed("rfc3987-syntax"), reason="rfc3987_syntax is not installed")


@rfc3987
def test_dlgrade_does_not_build_rfc3987_parsers_at_start():
    out = _run("import sys, autograder.batch, jsonschema; "
               "print(type(sys.modules['rfc3987_syntax']).__name__, 'lark' in sys.modules)")
    assert out == "_Deferred False"


@rfc3987
def test_jsonschema_iri_checks_still_validate_once_used():
    out = _run("import sys, autograder, jsonschema; fc = jsonschema.FormatChecker(); "
               "print(fc.conforms('https://example.org/caf\u00e9?q=1', 'iri'), fc.conforms('no scheme here', 'iri'), "
               "type(sys.modules['rfc3987_syntax']).__name__)")
    assert out == "True False module"


@rfc3987
def test_rfc3987_syntax_imported_by_name_is_the_real_module():
    out = _run("import autograder, rfc3987_syntax; print(rfc3987_syntax.is_valid_syntax('iri_reference', '../x'), "
               "callable(rfc3987_syntax.make_syntax_validator))")
    assert out == "True True"


@rfc3987
def test_rfc3987_syntax_submodules_still_import():
    out = _run("import autograder, rfc3987_syntax.syntax_helpers as h, rfc3987_syntax; "
               "print(h.is_valid_syntax('iri', 'x:y'), rfc3987_syntax.is_valid_syntax('iri', 'nope'))")
    assert out == "True False"

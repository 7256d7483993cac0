"""Otter's test files read, never executed: each question's name, test cases and their points.

Both of Otter's formats: OK format (``OK_FORMAT = True`` and a ``test`` dict)
and exception format (``@test_case`` functions). Points are resolved by
Otter's own rule (``TestFile.resolve_test_file_points``).
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from otter.test_files.abstract_test import TestCase, TestFile

from autograder.errors import OtterBundleError


@dataclasses.dataclass(frozen=True)
class OtterCase:
    """One test case of an Otter test file, with its points resolved as Otter resolves them."""

    name: str
    points: float
    hidden: bool



def parse_test_file(source: str, where: str) -> tuple[str, list[OtterCase]]:
    """A test file's question name and cases, read (never executed) from its source.

    OK format (``OK_FORMAT = True``): ``test = {"name", "points", "suites":
    [{"cases": [{"code", "hidden", "points"}]}]}``, cases hidden unless they
    say otherwise. Exception format: module-level ``name`` and ``points`` and
    functions decorated with ``@test_case(name=, points=, hidden=)``, cases
    public unless they say otherwise. Either way ``points`` may be a total
    shared by the cases without points of their own, a list (one value per
    case) or absent; ``TestFile.resolve_test_file_points``, Otter's own rule,
    settles each case's value.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise OtterBundleError(f"{where}: not valid Python (line {e.lineno}: {e.msg})") from None
    top: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            top[node.targets[0].id] = node.value
    if "OK_FORMAT" not in top:
        raise OtterBundleError(f"{where}: does not set OK_FORMAT, which tells Otter the test format")
    if _literal(top["OK_FORMAT"], where, "OK_FORMAT"):
        name, points, cases = _ok_format(top, where)
    else:
        name, points, cases = _exception_format(tree, top, where)
    if not cases:
        raise OtterBundleError(f"{where}: question {name!r} has no test cases")
    try:
        resolved = TestFile.resolve_test_file_points(points, cases)
    except (ValueError, TypeError, AssertionError) as e:
        raise OtterBundleError(f"{where}: points: {e or 'a point value is not a number'}") from None
    return name, [OtterCase(name=c.name, points=float(c.points), hidden=bool(c.hidden)) for c in resolved]


def _ok_format(top: dict[str, ast.expr], where: str) -> tuple[str, Any, list[TestCase]]:
    if "test" not in top:
        raise OtterBundleError(f"{where}: an OK-format test file must set test = {{...}}")
    spec = _literal(top["test"], where, "test")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise OtterBundleError(f"{where}: test: expected a dict with a 'name'")
    suites = spec.get("suites")
    if not isinstance(suites, list) or len(suites) != 1 or not isinstance(suites[0], dict):
        raise OtterBundleError(f"{where}: test['suites']: Otter needs exactly one suite")
    raw_cases = suites[0].get("cases")
    if not isinstance(raw_cases, list) or not all(isinstance(c, dict) for c in raw_cases):
        raise OtterBundleError(f"{where}: test['suites'][0]['cases']: expected a list of dicts")
    cases = [_case(c.get("name", f"{spec['name']} - {i + 1}"), c.get("points"), c.get("hidden", True))
             for i, c in enumerate(raw_cases)]
    return spec["name"], spec.get("points"), cases


_TEST_CASE_PARAMS = ("name", "points", "hidden")  # test_case's first positional parameters


def _exception_format(tree: ast.Module, top: dict[str, ast.expr], where: str) -> tuple[str, Any, list[TestCase]]:
    if "name" not in top:
        raise OtterBundleError(f"{where}: does not define 'name', the question's name")
    name = _literal(top["name"], where, "name")
    if not isinstance(name, str):
        raise OtterBundleError(f"{where}: name: expected a string, got {name!r}")
    points = _literal(top["points"], where, "points") if "points" in top else None
    # Otter collects the module's test_case objects in the order their names were first bound.
    found: dict[str, dict[str, Any]] = {}
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for dec in node.decorator_list:
            if not isinstance(dec, ast.Call):
                continue
            func = dec.func
            if (isinstance(func, ast.Name) and func.id == "test_case"
                    or isinstance(func, ast.Attribute) and func.attr == "test_case"):
                args = {key: _literal(arg, where, f"{node.name}: test_case {key}")
                        for key, arg in zip(_TEST_CASE_PARAMS, dec.args, strict=False)}
                args.update({kw.arg: _literal(kw.value, where, f"{node.name}: test_case {kw.arg}")
                             for kw in dec.keywords if kw.arg in _TEST_CASE_PARAMS})
                found[node.name] = args
    cases: list[TestCase] = []
    for args in found.values():
        cases.append(_case(args.get("name") or f"{name} - {len(cases) + 1}", args.get("points"),
                           args.get("hidden", False)))
    return name, points, cases


def _case(name: Any, points: Any, hidden: Any) -> TestCase:
    return TestCase(name=str(name), body=None, hidden=bool(hidden), points=points,
                    success_message=None, failure_message=None)


def _literal(node: ast.expr, where: str, key: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise OtterBundleError(f"{where}: {key} is not a literal value (write the number or text itself, "
                               "so that points can be read without running the file)") from None

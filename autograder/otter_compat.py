"""Plain Otter assignments, graded by Otter's own runner inside dlgrade's sandbox.

An autograder zip from ``otter assign`` or ``otter generate`` (OK-format or
exception-format tests) becomes an ``OtterBundle``, whose ``spec`` is a
synthesised ``Assignment``: one question per test file, its points resolved as
Otter resolves them. ``OtterGrader`` has ``Grader``'s interface: for every
submission it makes a fresh ``Sandbox``, puts the zip in ``in/`` (read-only
inside) and the notebook in ``work/`` under the assignment's file name (so that
``otter.Notebook("hw1.ipynb")`` finds a notebook Canvas renamed), and runs
``python -m otter run`` there, without Docker, under the sandbox's limits and a
time limit for the whole run. Otter's ``results.json`` is read back without
following links and within a size cap, and each question's score becomes one
``TestResult`` (named after the question, ``hidden`` when any of its cases
is) with Otter's output for it as the message; questions are shown as Otter's
results.json shows them (``hidden``, or ``after_published`` with
``show_hidden``). Otter's runner installs nothing, so what the zip asks for
must already be installed here (``OtterBundle.unmet_requirements`` lists what
is not).

The zip does not record the notebook's file name. It is ``notebook_name``
where given, else read from otter assign's zip name
(``<notebook>-autograder_<timestamp>.zip``); otherwise loading fails and says
to give it.

Outcomes (``GradingResult.status``):

* ``graded``: Otter's per-question scores, exactly as ``otter run`` gives them
  (clamped to 0..max, which only a tampered result could leave).
* ``rejected`` (never regraded by a rerun; every question 0):
  the file is not a notebook (intake); the run went past the time limit
  (message "ran past the N s time limit; not graded"; the runner and the kernel
  are killed and the batch goes on); Otter refused the submission (e.g. another
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
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
import sys
import time
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import yaml
from otter.test_files.abstract_test import TestCase, TestFile
from packaging.requirements import InvalidRequirement, Requirement

from autograder import hardware
from autograder.grade import Amend, load_submission, place_notebook, write_result
from autograder.judge import SubmissionError, TestResult, _open_dir, _read_at
from autograder.results import GradingResult
from autograder.sandbox import CommandRun, Sandbox
from autograder.spec import Assignment, Limits, Question

ZIP_NAME = "autograder.zip"  # in the sandbox's in/
RESULTS_DIR = "otter-results"  # in the sandbox's work/, where `otter run -o` writes results.json
MAX_RESULTS_BYTES = 8 * 2**20
MAX_MESSAGE_CHARS = 4000
DEFAULT_TIMEOUT_S = 600.0

#: ``otter assign`` names its zip ``<notebook stem>-autograder_<timestamp>.zip``.
_ASSIGN_ZIP_NAME = re.compile(r"(?P<stem>.+)-autograder_\d{4}_\d{2}_\d{2}T\d{2}_\d{2}_\d{2}_\d{6}")
#: Otter's names for the results entries that stand in for questions when grading failed.
_OTTER_FAILURES = ("Autograder Error", "Autograder Failed", "Autograder Exception")


class OtterBundleError(ValueError):
    """An autograder zip that cannot be used; the message names the zip (and member) and what is wrong."""


@dataclasses.dataclass(frozen=True)
class OtterCase:
    """One test case of an Otter test file, with its points resolved as Otter resolves them."""

    name: str
    points: float
    hidden: bool


@dataclasses.dataclass
class OtterBundle:
    """An Otter autograder zip as dlgrade grades it.

    ``spec.root`` is the folder holding the zip; nothing is extracted there:
    the zip goes into each sandbox as it is, and Otter's runner unpacks it
    inside.
    """

    zip_path: Path
    spec: Assignment
    cases: dict[str, list[OtterCase]]  # question -> its test cases, in the order of its file
    digest: str  # sha256 of the zip
    unmet_requirements: list[str]  # pip requirements of the zip that are not installed here

    @classmethod
    def load(cls, zip_path: Path | str, notebook_name: str | None = None,
             timeout_s: float = DEFAULT_TIMEOUT_S) -> "OtterBundle":
        """Read an autograder zip; ``notebook_name`` where the zip's name does not tell it.

        ``timeout_s`` limits each submission's whole ``otter run`` (the
        notebook and all tests); it becomes the spec's cell, notebook and call
        time limits. Raises ``OtterBundleError`` for a zip that cannot be used.
        """
        zip_path = Path(zip_path)
        if not zip_path.is_file():
            raise OtterBundleError(f"{zip_path}: not found (or not a file); expected the autograder zip "
                                   "that otter assign or otter generate makes")
        if not timeout_s > 0:
            raise OtterBundleError(f"{zip_path}: the time limit must be positive, got {timeout_s}")
        try:
            with zipfile.ZipFile(zip_path) as zf:
                config, cases, requirements = _read_zip(zf, zip_path)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
            raise OtterBundleError(f"{zip_path}: not a zip file, or a damaged one ({e}); expected the autograder "
                                   "zip that otter assign or otter generate makes") from None
        notebook = _notebook_name(zip_path, notebook_name)
        spec = _spec(zip_path, config, notebook, cases, timeout_s)
        unmet = [r for r in requirements if not _installed(r)]
        if unmet:
            warnings.warn(f"{zip_path} asks for packages that are not installed here (Otter's runner installs "
                          f"nothing, so grading may fail): {', '.join(unmet)}", RuntimeWarning, stacklevel=2)
        with zip_path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return cls(zip_path=zip_path.resolve(), spec=spec, cases=cases, digest=digest, unmet_requirements=unmet)


# -- reading the zip -------------------------------------------------------------


def _read_zip(zf: zipfile.ZipFile, zip_path: Path) -> tuple[dict, dict[str, list[OtterCase]], list[str]]:
    """The zip's Otter config, each question's test cases and its pip requirements."""
    config = _config(zf, zip_path)
    test_files = sorted((n for n in zf.namelist() if re.fullmatch(r"tests/[^/]+\.py", n)), key=_natural)
    if not test_files:
        raise OtterBundleError(f"{zip_path}: no tests/*.py at the top of the zip; is this the autograder zip of a "
                               "Python assignment from otter assign or otter generate?")
    cases: dict[str, list[OtterCase]] = {}
    for member in test_files:
        where = f"{zip_path}: {member}"
        try:
            source = zf.read(member).decode("utf-8")
        except UnicodeDecodeError:
            raise OtterBundleError(f"{where}: not UTF-8 text") from None
        name, file_cases = parse_test_file(source, where)
        if name in cases:
            raise OtterBundleError(f"{where}: a second test file for question {name!r}; each question needs one")
        cases[name] = file_cases
    return config, cases, _requirements(zf, zip_path)


def _natural(name: str) -> list:
    """Sort key that puts tests/q2.py before tests/q10.py."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _config(zf: zipfile.ZipFile, zip_path: Path) -> dict[str, Any]:
    """otter_config.json (Otter's runner takes a missing one as empty), checked for what dlgrade cannot do."""
    if "otter_config.json" not in zf.namelist():
        return {}
    where = f"{zip_path}: otter_config.json"
    try:
        config = json.loads(zf.read("otter_config.json"))
    except (ValueError, UnicodeDecodeError) as e:
        raise OtterBundleError(f"{where}: not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise OtterBundleError(f"{where}: expected a JSON object of Otter's grading settings")
    if config.get("lang", "python") != "python":
        raise OtterBundleError(f"{where}: lang: {config['lang']!r}; only Python assignments can be graded")
    if config.get("zips"):
        raise OtterBundleError(f"{where}: zips: true grades whole zip files, but dlgrade gives Otter the notebook "
                               "alone; set it to false")
    if config.get("grade_from_log"):
        raise OtterBundleError(f"{where}: grade_from_log: true needs the submission's .OTTER_LOG, but dlgrade "
                               "gives Otter the notebook alone; set it to false")
    return config


def _requirements(zf: zipfile.ZipFile, zip_path: Path) -> list[str]:
    """The pip requirements of the zip: environment.yml's pip list and any requirements.txt."""
    found: list[str] = []
    names = zf.namelist()
    if "environment.yml" in names:
        try:
            env = yaml.safe_load(zf.read("environment.yml"))
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise OtterBundleError(f"{zip_path}: environment.yml: not valid YAML ({e})") from None
        deps = env.get("dependencies") if isinstance(env, dict) else None
        for dep in deps if isinstance(deps, list) else []:
            if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                found += [str(p) for p in dep["pip"]]
    if "requirements.txt" in names:
        found += zf.read("requirements.txt").decode("utf-8", "replace").splitlines()
    return [line.split("#")[0].strip() for line in found
            if line.split("#")[0].strip() and not line.strip().startswith("-")]


def _installed(requirement: str) -> bool:
    """Whether a pip requirement (name, version) is met by this Python; unreadable ones count as met."""
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return True
    if req.marker is not None and not req.marker.evaluate():
        return True
    try:
        version = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return req.specifier.contains(version, prereleases=True)


def _notebook_name(zip_path: Path, given: str | None) -> str:
    """The file name students' ``otter.Notebook(...)`` opens: given, or from otter assign's zip name."""
    if given is not None:
        if not given.endswith(".ipynb") or "/" in given or given.startswith("."):
            raise OtterBundleError(f"{zip_path}: notebook name {given!r} must be a plain file name ending in .ipynb")
        return given
    match = _ASSIGN_ZIP_NAME.fullmatch(zip_path.stem)
    if match:
        return f"{match['stem']}.ipynb"
    raise OtterBundleError(
        f"{zip_path}: cannot tell the assignment's notebook file name: Otter's autograder zip does not record it, "
        "and this zip is not named like otter assign's <notebook>-autograder_<timestamp>.zip. Give it explicitly "
        "(notebook_name, e.g. 'hw1.ipynb': the name in the notebook's otter.Notebook(\"hw1.ipynb\") cell)"
    )


def _spec(zip_path: Path, config: dict, notebook: str, cases: dict[str, list[OtterCase]],
          timeout_s: float) -> Assignment:
    """The Assignment dlgrade's results and reports need, as Otter would report the questions."""
    name = config.get("assignment_name")
    if isinstance(name, str) and name.strip():
        ident = name.strip()
    else:
        match = _ASSIGN_ZIP_NAME.fullmatch(zip_path.stem)
        ident = match["stem"] if match else zip_path.stem
    # Otter's results.json shows a question's score (which includes its hidden tests) as below.
    visibility = "after_published" if config.get("show_hidden") else "hidden"
    if config.get("show_all_public") and not any(c.hidden for cs in cases.values() for c in cs):
        visibility = "visible"
    questions = {q: Question(name=q, title=q, points=round(sum(c.points for c in cs), 6), thresholds={},
                             visibility=visibility)
                 for q, cs in cases.items()}
    limits = Limits(cell_timeout=timeout_s, notebook_timeout=timeout_s, call_timeout=timeout_s)
    return Assignment(id=ident, title=ident, notebook=notebook, questions=questions, limits=limits,
                      root=zip_path.resolve().parent)


# -- test files -------------------------------------------------------------------


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
            func = dec.func if isinstance(dec, ast.Call) else None
            if (isinstance(func, ast.Name) and func.id == "test_case"
                    or isinstance(func, ast.Attribute) and func.attr == "test_case"):
                args = {key: _literal(arg, where, f"{node.name}: test_case {key}")
                        for key, arg in zip(_TEST_CASE_PARAMS, dec.args)}
                args.update({kw.arg: _literal(kw.value, where, f"{node.name}: test_case {kw.arg}")
                             for kw in dec.keywords if kw.arg in _TEST_CASE_PARAMS})
                found[node.name] = args
    cases = []
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


# -- grading ------------------------------------------------------------------------


class OtterGrader:
    """Grades submissions of one Otter assignment with Otter's runner, each in a fresh sandbox.

    The same interface as ``autograder.grade.Grader``; nothing is held
    between submissions, so ``close`` has nothing to release.
    """

    def __init__(self, bundle: OtterBundle, isolate: bool | None = None):
        self.bundle = bundle
        self.spec = bundle.spec
        self.isolate = isolate

    def close(self) -> None:
        pass

    def __enter__(self) -> "OtterGrader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def grade(self, path: Path, out: Path, student: str | None = None, prewarm: bool = False,
              amend: Amend | None = None) -> GradingResult:
        """Grade one file and write ``out/<student>/``: results.json and feedback.html.

        ``prewarm`` is ignored: Otter's runner starts its own kernel, inside the sandbox.
        ``amend`` completes the result before it is written, as in ``Grader.grade``.
        """
        started = time.perf_counter()
        common = dict(machine=hardware.machine(), fingerprint=hardware.fingerprint(), source=str(path))
        sub, rejected = load_submission(self.spec, path, student, common)
        if rejected is not None:
            return _write(rejected, out, started, amend)
        sandbox = Sandbox(self.spec.limits, isolate=self.isolate)
        try:
            # Everything is in place before the runner starts; afterwards only read, never following links.
            place_notebook(sandbox, sub.notebook, self.spec.notebook)
            shutil.copyfile(self.bundle.zip_path, sandbox.inbox / ZIP_NAME)
            (sandbox.workdir / RESULTS_DIR).mkdir()
            if sandbox.uid != os.geteuid():
                os.chown(sandbox.workdir / RESULTS_DIR, sandbox.uid, sandbox.uid)
            run = sandbox.run_command(
                [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(sandbox.inbox / ZIP_NAME),
                 "-o", RESULTS_DIR, "--", self.spec.notebook],
                timeout=self.spec.limits.notebook_timeout,
            )
            raw, problem = read_results(sandbox.workdir)
            isolation = "bubblewrap" if sandbox.isolated else f"off: {sandbox.isolation_note}"
            gpu = sandbox.gpu and hardware.has_gpu()
        finally:
            sandbox.close()
        status, tests, message = outcome(self.bundle, run, raw, problem)
        result = GradingResult.assemble(
            self.spec, tests, {}, student=sub.student, status=status, message=message, isolation=isolation,
            gpu=gpu, submitted_at=sub.submitted_at.isoformat() if sub.submitted_at else None,
            seconds={"otter": run.seconds}, **common,
        )
        return _write(result, out, started, amend)


def _write(result: GradingResult, out: Path, started: float, amend: Amend | None) -> GradingResult:
    result.seconds["total"] = time.perf_counter() - started
    return write_result(amend(result) if amend else result, out)


def read_results(workdir: Path) -> tuple[bytes | None, str]:
    """Otter's results.json from the sandbox, or None and why it cannot be read ("" when simply missing).

    Through descriptors opened without following links, within ``MAX_RESULTS_BYTES``.
    """
    try:
        fd = _open_dir(workdir, RESULTS_DIR)
        try:
            return _read_at(fd, "results.json", MAX_RESULTS_BYTES, "Otter's results.json"), ""
        finally:
            os.close(fd)
    except SubmissionError as e:
        return None, "" if e.kind == "missing" else str(e)


def outcome(bundle: OtterBundle, run: CommandRun, raw: bytes | None,
            problem: str = "") -> tuple[str, list[TestResult], str]:
    """Status, tests and message of a graded submission from Otter's run and results.json (see the module doc)."""
    if run.timed_out:
        return "rejected", [], f"ran past the {bundle.spec.limits.notebook_timeout:g} s time limit; not graded"
    if problem:
        return "rejected", [], f"{problem}; not graded"
    if raw is None:
        if "DeadKernelError" in run.output:
            return "rejected", [], ("the notebook's kernel died while Otter ran it (the code exited or killed its "
                                    "process); not graded")
        return "error", [], (f"Otter's runner wrote no results (exit code {run.returncode}): "
                             f"{_last_lines(run.output)}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        return "rejected", [], f"Otter's results.json is not valid JSON ({e}); not graded"
    entries = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return "rejected", [], "Otter's results.json has no list of tests; not graded"
    by_name = {e["name"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}
    scored = {q: e for q, e in by_name.items() if q in bundle.spec.questions and _number(e.get("score"))}
    if not scored:
        failures = [str(by_name[n].get("output", ""))[:MAX_MESSAGE_CHARS] for n in _OTTER_FAILURES if n in by_name]
        if failures:
            return "rejected", [], "Otter could not grade this submission: " + "\n\n".join(failures)
        return "rejected", [], "Otter's results.json scores none of this assignment's questions; not graded"
    tests = []
    for q, question in bundle.spec.questions.items():
        hidden = any(c.hidden for c in bundle.cases[q])
        entry = scored.get(q)
        if entry is None:
            tests.append(TestResult(question=q, name=q, points=0.0, max_points=question.points, status="failed",
                                    hidden=hidden, message="Otter's results.json has no score for this question"))
            continue
        reported = float(entry["score"])
        score = min(max(reported, 0.0), question.points)
        notes = []
        if score != reported:
            notes.append(f"Otter reported {reported:g} points, outside 0..{question.points:g}; counted as {score:g}")
        if _number(entry.get("max_score")) and abs(float(entry["max_score"]) - question.points) > 1e-6:
            notes.append(f"Otter's max_score {float(entry['max_score']):g} differs from the {question.points:g} "
                         "points of the zip's tests, which count")
        tests.append(TestResult(
            question=q, name=q, points=score, max_points=question.points,
            status="passed" if score >= question.points - 1e-9 else "failed", hidden=hidden,
            message=str(entry.get("output", ""))[:MAX_MESSAGE_CHARS], notes=notes,
        ))
    return "graded", tests, ""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _last_lines(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])[-MAX_MESSAGE_CHARS:]

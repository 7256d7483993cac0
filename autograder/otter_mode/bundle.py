"""An Otter autograder zip as dlgrade grades it: its config, its questions and points, its notebook's name.

The zip (from ``otter assign`` or ``otter generate``) is read member by
member and never extracted here; its test files are read with ``ast``, never
run in the grader. Its ``spec`` is a synthesised ``Assignment``: one question
per test file, its points resolved as Otter resolves them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import re
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from autograder.errors import OtterBundleError
from autograder.otter_mode.test_files import OtterCase, parse_test_file
from autograder.spec import Assignment, Limits, Question

DEFAULT_TIMEOUT_S = 600.0
#: The limit per cell where none is given: dlgrade's own default, or half the whole run's limit if that is less.
DEFAULT_CELL_TIMEOUT_S = Limits().cell_timeout

#: ``otter assign`` names its zip ``<notebook stem>-autograder_<timestamp>.zip``.
_ASSIGN_ZIP_NAME = re.compile(r"(?P<stem>.+)-autograder_\d{4}_\d{2}_\d{2}T\d{2}_\d{2}_\d{2}_\d{6}")


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
    def load(cls, zip_path: Path | str, notebook_name: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
             cell_timeout_s: float | None = None) -> "OtterBundle":
        """Read an autograder zip; ``notebook_name`` where the zip's name does not tell it.

        ``timeout_s`` (seconds) limits each submission's whole ``otter run``
        (the notebook and all tests); it becomes the spec's notebook and call
        time limits. ``cell_timeout_s`` (seconds; default the lesser of
        ``DEFAULT_CELL_TIMEOUT_S`` and half of ``timeout_s``) limits each of
        the student's cells: one that runs longer is interrupted and the rest
        of the notebook still runs; it becomes the spec's cell time limit.
        Raises ``OtterBundleError`` for a zip that cannot be used or limits
        that are not positive, or a limit per cell longer than the whole run's.
        """
        zip_path = Path(zip_path)
        if not zip_path.is_file():
            raise OtterBundleError(f"{zip_path}: not found (or not a file); expected the autograder zip "
                                   "that otter assign or otter generate makes")
        if not timeout_s > 0:
            raise OtterBundleError(f"{zip_path}: the time limit must be positive, got {timeout_s}")
        if cell_timeout_s is None:
            cell_timeout_s = min(DEFAULT_CELL_TIMEOUT_S, timeout_s / 2)
        if not 0 < cell_timeout_s <= timeout_s:
            raise OtterBundleError(f"{zip_path}: the time limit per cell must be positive and no longer than the "
                                   f"whole run's {timeout_s:g} s, got {cell_timeout_s}")
        try:
            with zipfile.ZipFile(zip_path) as zf:
                config, cases, requirements = _read_zip(zf, zip_path)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
            raise OtterBundleError(f"{zip_path}: not a zip file, or a damaged one ({e}); expected the autograder "
                                   "zip that otter assign or otter generate makes") from None
        notebook = _notebook_name(zip_path, notebook_name)
        spec = _spec(zip_path, config, notebook, cases, timeout_s, cell_timeout_s)
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
    """The file name students' ``otter.Notebook(...)`` opens: given, from otter assign's zip name, or "".

    "" (an ``otter generate`` zip, or one renamed) means each submission says
    it: ``OtterGrader`` reads the name from its ``otter.Notebook("...")`` call.
    """
    if given is not None:
        if not given.endswith(".ipynb") or "/" in given or given.startswith("."):
            raise OtterBundleError(f"{zip_path}: notebook name {given!r} must be a plain file name ending in .ipynb")
        return given
    match = _ASSIGN_ZIP_NAME.fullmatch(zip_path.stem)
    return f"{match['stem']}.ipynb" if match else ""


def _spec(zip_path: Path, config: dict, notebook: str, cases: dict[str, list[OtterCase]],
          timeout_s: float, cell_timeout_s: float) -> Assignment:
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
    limits = Limits(cell_timeout=cell_timeout_s, notebook_timeout=timeout_s, call_timeout=timeout_s)
    return Assignment(id=ident, title=ident, notebook=notebook, questions=questions, limits=limits,
                      root=zip_path.resolve().parent)

"""``dlgrade export gradescope``: one assignment as the zip Gradescope takes as a programming assignment's autograder.

The zip holds Gradescope's two scripts (``setup.sh``, ``run_autograder``),
dlgrade's dependencies pinned to the versions installed here
(``requirements.txt``: the closure of dlgrade's requirements, read with
``importlib.metadata``), dlgrade's own source, the built bundle and a small
config (``layout``). Like the handout it is deterministic: the same bundle,
source and environment always give the same bytes (``handout.write_zip``).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.resources
import sys
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

import autograder
from autograder.errors import UsageError
from autograder.gradescope import layout
from autograder.handout import write_zip, zip_contents, zip_target
from autograder.results import Bundle

#: What setup.sh's template says where the export's Python version goes.
PYTHON_MARK = "@PYTHON_VERSION@"
#: Never in the zip: caches and editors' files.
_LEFT_OUT = ("__pycache__",)


@dataclasses.dataclass
class Export:
    """What ``export_autograder`` wrote: the zip, its members in order, its config and pins, and any warnings."""

    path: Path
    members: list[str]
    config: layout.Config
    pins: list[str]
    warnings: list[str] = dataclasses.field(default_factory=list)

    def contents(self) -> list[str]:
        """The zip's top level as a person reads it: each file, and each folder with its count of files."""
        return zip_contents(self.members)


def export_autograder(bundle: Bundle, out: Path | None = None) -> Export:
    """Write the Gradescope autograder zip of ``bundle`` (``api.bundle_for``: built, and current) to ``out``.

    ``out`` is a file (default ``<id>-gradescope.zip`` in the current folder)
    or an existing folder to write that into. The pins are this Python
    environment's: export from the environment (Linux, the Python minor
    version) that grades well, as setup.sh recreates it on Gradescope.

    Raises ``UsageError`` for an output that cannot be written, a dlgrade
    installed without its source (``pip install -e`` a checkout), or a
    requirement of dlgrade that is not installed here.
    """
    spec = bundle.spec
    target = zip_target(Path(out) if out is not None else Path.cwd(), f"{spec.id}-gradescope.zip",
                        "the Gradescope autograder")
    pins = pinned_requirements("dlgrade")  # first: it says so where dlgrade is not installed
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    config = layout.Config(assignment=spec.id, digest=bundle.digest, python=python,
                           dlgrade=importlib.metadata.version("dlgrade"))
    members: dict[str, Path | bytes] = {
        layout.SETUP: _script(layout.SETUP).replace(PYTHON_MARK.encode(), python.encode()),
        layout.RUN: _script(layout.RUN),
        layout.REQUIREMENTS: "".join(f"{pin}\n" for pin in pins).encode(),
        layout.CONFIG: config.to_json(),
    }
    members.update({f"{layout.PACKAGE}/{rel}": path for rel, path in _source_files().items()})
    members.update({f"{config.bundle}/{rel}": path for rel, path in _files_under(bundle.root).items()})
    ordered = sorted(members.items())
    write_zip(target, ordered, what="the Gradescope autograder", executable=(layout.SETUP, layout.RUN))
    warnings: list[str] = []
    if sys.platform != "linux":
        warnings.append(f"exported on {sys.platform}: the pins in {layout.REQUIREMENTS} are this machine's, and "
                        "Gradescope's image is Ubuntu; export on Linux so that they hold there")
    return Export(target, [name for name, _ in ordered], config, pins, warnings)


def pinned_requirements(dist: str) -> list[str]:
    """``name==version`` for every distribution ``dist`` needs, directly or not, as installed here; sorted.

    Requirements are read from each installed distribution's metadata, with
    their environment markers and extras evaluated for this environment;
    ``dist`` itself and its optional extras (``test``) are left out. Raises
    ``UsageError`` naming a requirement that is not installed, and who needs it.
    """
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str], str]] = [(dist, frozenset(), "")]
    while todo:
        name, extras, needed_by = todo.pop()
        if (canonicalize_name(name), extras) in seen:
            continue
        seen.add((canonicalize_name(name), extras))
        try:
            installed = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            by = f" (required by {needed_by})" if needed_by else ""
            raise UsageError(f"{name}{by} is not installed here, so its version cannot be pinned; install {dist} "
                             "with its dependencies (pip install -e .) and export again") from None
        if canonicalize_name(name) != canonicalize_name(dist):
            pins[canonicalize_name(name)] = f"{installed.metadata['Name']}=={installed.version}"
        for requirement in _requirements(installed, extras):
            todo.append((requirement.name, frozenset(requirement.extras), installed.metadata["Name"]))
    return [pins[key] for key in sorted(pins)]


def _requirements(installed: importlib.metadata.Distribution, extras: frozenset[str]) -> list[Requirement]:
    """The distribution's requirements that hold here, for its base and the ``extras`` asked of it."""
    wanted = []
    for text in installed.requires or []:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue  # metadata no installer could have acted on: nothing of it is installed for us
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": extra}) for extra in ("", *sorted(extras))):
            wanted.append(requirement)
    return wanted


def _script(name: str) -> bytes:
    """One of the package's shell templates, as shipped beside this module (package data)."""
    return (importlib.resources.files("autograder.gradescope") / name).read_bytes()


def _source_files() -> dict[str, Path]:
    """dlgrade's source to install on Gradescope: pyproject.toml, README.md and the package, by path inside it.

    Raises ``UsageError`` where dlgrade is installed without its source (a wheel in site-packages).
    """
    checkout = Path(autograder.__file__).resolve().parent.parent
    pyproject = checkout / "pyproject.toml"
    try:
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
    except (OSError, ValueError, KeyError):
        name = None
    if name != "dlgrade" or not (checkout / "README.md").is_file():
        raise UsageError(f"{checkout}: not dlgrade's source (no pyproject.toml of dlgrade and README.md beside the "
                         "autograder package); export from a checkout installed with `pip install -e .`")
    files = {"pyproject.toml": pyproject, "README.md": checkout / "README.md"}
    files.update({f"autograder/{rel}": path for rel, path in _files_under(checkout / "autograder").items()})
    return files


def _files_under(folder: Path) -> dict[str, Path]:
    """The files under ``folder`` by their path inside it: no link, no dotfile, no ``__pycache__``, no .pyc."""
    found = {}
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if (path.is_symlink() or not path.is_file() or path.suffix == ".pyc"
                or any(p.startswith(".") or p in _LEFT_OUT for p in parts)):
            continue
        found["/".join(parts)] = path
    return found

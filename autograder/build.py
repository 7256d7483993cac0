"""Build an assignment: the master notebook and spec become the student notebook and the grader's bundle.

``solutions/<id>/<id>.ipynb`` (an Otter Assign master) goes through ``otter
assign``; its student notebook, normalised so that two builds are byte for
byte the same, lands in ``student_template/<id>/``. The bundle in
``dist/<id>/`` holds what only the grader may see: the spec, the hidden tests
and the reference solution.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat

from autograder import prompts
from autograder import spec as spec_mod
from autograder.errors import BuildError
from autograder.judge.loader import load_tests


@dataclasses.dataclass
class BuildResult:
    """What a build made (or, with ``check``, what differs from the committed template)."""

    assignment: str
    student_notebook: Path
    bundle: Path
    stale: list[str] = dataclasses.field(default_factory=list)  # with check=True: what differs


def find_root(start: Path | None = None) -> Path:
    """The course folder: the nearest folder at or above ``start`` that has ``assignments/``."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        if (folder / "assignments").is_dir():
            return folder
    raise BuildError(f"no assignments/ folder at or above {here}; run dlgrade in the course folder or pass --root")


def _normalise(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Stable cell ids and no run-to-run noise, so the build is reproducible."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for i, cell in enumerate(nb.cells):
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        cell["id"] = hashlib.sha256(f"{name}/{i}/{cell.cell_type}/{source}".encode()).hexdigest()[:16]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    return nb


def _notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    return (nbformat.writes(nb, version=4) + "\n").encode()


def cache_dir() -> Path:
    """Where builds keep what they can reuse: ``$DLGRADE_CACHE``, else ``~/.cache/dlgrade``."""
    return Path(os.environ.get("DLGRADE_CACHE") or Path.home() / ".cache" / "dlgrade")


def _assign_key(master: Path) -> str:
    """What ``otter assign``'s output depends on: every file beside the master, Otter's and Python's versions."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"otter {version('otter-grader')} / python {sys.version}".encode())
    for path in sorted(p for p in master.parent.rglob("*") if p.is_file()):
        digest.update(f"\0{path.relative_to(master.parent).as_posix()}\0".encode() + path.read_bytes())
    digest.update(f"\0master {master.name}".encode())
    return digest.hexdigest()


def _otter_assign(master: Path, out: Path) -> None:
    """``otter assign`` on ``master`` into ``out``; an unchanged master's output comes from the cache.

    Otter takes 15-30 s to start and assign; the output depends only on the
    files keyed by ``_assign_key``, so a rebuild after editing hidden tests or
    the spec, or a ``--check``, reuses it.
    """
    cached = cache_dir() / "otter-assign" / _assign_key(master)
    if (cached / "out").is_dir():
        shutil.copytree(cached / "out", out)
        return
    cmd = [sys.executable, "-m", "otter", "assign", "--no-pdfs", str(master), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=master.parent)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise BuildError(f"otter assign failed on {master}:\n" + "\n".join(tail))
    tmp = None
    try:  # into the cache whole or not at all: a half-written entry is never read
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".entry-", dir=cached.parent))
        shutil.copytree(out, tmp / "out")
        tmp.rename(cached)
    except OSError:  # a read-only home, or another build stored it first: no cache, the same result
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def build(assignment: str, root: Path | None = None, check: bool = False, dist: Path | None = None) -> BuildResult:
    """Build (or, with ``check``, compare against the committed build) one assignment."""
    root = root or find_root()
    spec = spec_mod.load(root / "assignments" / assignment)
    load_tests(spec)  # hidden tests import and add up to the spec's points
    master = root / "solutions" / assignment / spec.notebook
    if not master.exists():
        raise BuildError(f"{master}: the master notebook is missing")
    template_dir = root / "student_template" / assignment
    bundle = (dist or root / "dist") / assignment

    with tempfile.TemporaryDirectory(prefix="dlgrade-build-") as tmp:
        out = Path(tmp) / "out"
        _otter_assign(_rendered(master, spec, Path(tmp) / "master"), out)
        reference = _normalise(nbformat.read(out / "autograder" / spec.notebook, as_version=4), spec.notebook)
        files = _template_files(out / "student", spec)
        if check:
            stale = _compare(template_dir, files, {f.name for f in spec.files})
            return BuildResult(assignment, template_dir / spec.notebook, bundle, stale)

        data = Path(tmp) / "files"
        for f in spec.files:
            make_data_file(f, data / f.name, spec)
        if template_dir.exists():
            shutil.rmtree(template_dir)
        for rel, blob in files.items():
            (template_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (template_dir / rel).write_bytes(blob)
        for f in spec.files:
            if f.is_folder:
                shutil.copytree(data / f.name, template_dir / f.name)
            else:
                shutil.copyfile(data / f.name, template_dir / f.name)

        _write_bundle(bundle, spec, _notebook_bytes(reference), data)
    return BuildResult(assignment, template_dir / spec.notebook, bundle)


def _rendered(master: Path, spec: spec_mod.Assignment, folder: Path) -> Path:
    """A copy of the master's folder whose notebook states the spec's thresholds (``prompts.render``)."""
    shutil.copytree(master.parent, folder)
    copy = folder / master.name
    nb = prompts.render(nbformat.read(master, as_version=4), spec, str(master))
    copy.write_text(nbformat.writes(nb) + "\n")
    return copy


def _template_files(student: Path, spec: spec_mod.Assignment) -> dict[str, bytes]:
    """What ``student_template/<id>/`` holds, by path: the normalised notebook, Otter's other files, a .gitignore."""
    notebook = _normalise(nbformat.read(student / spec.notebook, as_version=4), spec.notebook)
    files = {spec.notebook: _notebook_bytes(notebook)}
    for extra in sorted(student.rglob("*")):
        rel = extra.relative_to(student).as_posix()
        if extra.is_file() and rel != spec.notebook and not rel.endswith(".pdf"):
            files[rel] = extra.read_bytes()
    if spec.files:
        # Data files (and folders) are made from the spec by every build, never committed: git ignores them.
        files[".gitignore"] = ("# Made by `dlgrade build` from the spec's files key.\n"
                               + "".join(f"/{f.name}/\n" if f.is_folder else f"/{f.name}\n"
                                         for f in spec.files)).encode()
    return files


def make_data_file(f: spec_mod.DataFile, dest: Path, spec: spec_mod.Assignment) -> None:
    """Write the spec's data file ``f`` to ``dest``; the same spec always gives the same bytes.

    A folder maker (``f.is_folder``) writes a tree at ``dest``, replacing whatever was there, so that
    files of an older build never mix with the new ones.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    args = f.kwargs()
    where = f"{spec.file}: files.{f.name}"
    if f.is_folder:
        _make_folder(f, dest)
    elif f.maker == "synthetic_higgs":
        from autograder.data.higgs import write_synthetic_higgs

        if args.get("rows", 1) < 1:
            raise BuildError(f"{where}.synthetic_higgs.rows: must be at least 1")
        write_synthetic_higgs(dest, args.get("rows", 10_000), args.get("seed", 0))  # gzip if the name ends .gz
    elif f.maker == "copy":
        source = Path(args["path"]).expanduser()
        source = source if source.is_absolute() else spec.root / source
        if not source.is_file():
            raise BuildError(f"{where}.copy.path: {source} is not a file")
        shutil.copyfile(source, dest)
    else:  # spec.py admits only FILE_MAKERS
        raise BuildError(f"{where}: no maker {f.maker!r}")


def _make_folder(f: spec_mod.DataFile, dest: Path) -> None:
    """The folder maker's tree, written beside ``dest`` and then put in place of what ``dest`` was."""
    from autograder.data import faces

    writers: dict[str, Callable[..., object]] = {"face_pose": faces.write_face_folder,
                                                 "digits_folder": faces.write_digits_folder}
    tmp = dest.with_name(f".{dest.name}.making")
    _remove(tmp)
    writers[f.maker](tmp, **f.kwargs())  # spec.py checked the arguments' names, types and ranges
    _remove(dest)
    tmp.rename(dest)


def _remove(path: Path) -> None:
    """``path`` gone, whether a folder, a file or a link (a link's target is left alone)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _compare(template_dir: Path, files: dict[str, bytes], made: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """What in ``template_dir`` differs from ``files``; the data files and folders ``made`` (names beside
    the notebook) are not compared, nor is anything under them."""
    stale = []
    for rel, data in files.items():
        path = template_dir / rel
        if not path.exists():
            stale.append(f"{path}: missing")
        elif path.read_bytes() != data:
            stale.append(f"{path}: differs from a fresh build")
    if template_dir.exists():
        for path in sorted(template_dir.rglob("*")):
            rel = path.relative_to(template_dir).as_posix()
            if path.is_file() and rel not in files and rel.split("/", 1)[0] not in made:
                stale.append(f"{path}: not produced by the build")
    return stale


def _write_bundle(bundle: Path, spec: spec_mod.Assignment, reference: bytes, data: Path) -> None:
    tmp = bundle.with_name(f".{bundle.name}.building")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "hidden").mkdir(parents=True)
    if spec.files:
        shutil.copytree(data, tmp / "files")
    shutil.copy2(spec.file, tmp / "assignment.yaml")
    for f in sorted(spec.hidden_dir.glob("*.py")):
        shutil.copy2(f, tmp / "hidden" / f.name)
    (tmp / "reference.ipynb").write_bytes(reference)
    digest = hashlib.sha256()
    for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
        digest.update(f.relative_to(tmp).as_posix().encode() + b"\0" + f.read_bytes())
    (tmp / "manifest.json").write_text(json.dumps({"assignment": spec.id, "digest": digest.hexdigest()[:16]}, indent=1))
    if bundle.exists():
        shutil.rmtree(bundle)
    tmp.rename(bundle)


def load_bundle(bundle: Path):
    """The spec of a built bundle (hidden tests beside it)."""
    if not (bundle / "assignment.yaml").exists():
        raise BuildError(f"{bundle}: not a built assignment (no assignment.yaml); run `dlgrade build`")
    return spec_mod.load(bundle / "assignment.yaml")

"""The handout: the zip a course posts for students, the student notebook and every data file it reads.

Made from what ``dlgrade build`` writes to ``student_template/<id>/``: the
notebook, Otter's other student files, and the spec's data files and folders
(made by every build, never committed). Nothing of the grader's bundle
(``dist/<id>/``) goes in: no hidden test, no reference solution, no spec.
The zip is deterministic (members in order, every date 1980-01-01, fixed
modes), so the same handout always has the same bytes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import zipfile
from collections.abc import Collection, Iterable
from pathlib import Path

from autograder import build as build_mod
from autograder import spec as spec_mod
from autograder.errors import BuildError, UsageError

#: Every member's date: zip's earliest, so that no build's clock shows in the bytes.
_DATE = (1980, 1, 1, 0, 0, 0)
#: Already compressed: stored as they are (deflating them again costs time and saves nothing).
_COMPRESSED = frozenset({".gz", ".zip", ".png", ".jpg", ".jpeg", ".npz", ".bz2", ".xz", ".h5", ".keras"})


def zip_contents(members: list[str]) -> list[str]:
    """A zip's top level as a person reads it, from its members' names: each file, and each folder with its
    count of files."""
    counts: dict[str, int] = {}
    for member in members:
        top, _, rest = member.partition("/")
        key = f"{top}/" if rest else top
        counts[key] = counts.get(key, 0) + 1
    return [f"{name} ({n} files)" if name.endswith("/") else name for name, n in counts.items()]


@dataclasses.dataclass
class Handout:
    """What ``make_handout`` wrote: the zip, its members in order, and why it built the assignment first.

    ``built`` is "" where the build in place was current and nothing was built.
    """

    path: Path
    members: list[str]
    built: str = ""

    def contents(self) -> list[str]:
        """The zip's top level as a person reads it: each file, and each folder with its count of files."""
        return zip_contents(self.members)


def make_handout(assignment: str, out: Path | None = None, root: Path | None = None) -> Handout:
    """Write the handout zip of ``assignment`` to ``out`` and say what is in it.

    ``out`` is a file (default ``<id>-handout.zip`` in the current folder) or an
    existing folder to write ``<id>-handout.zip`` into. The student notebook
    lies at the top, each data file at the path beside it that the notebook
    reads. The assignment is built first when its student template or data
    files are missing or its data are older than its spec.

    Raises ``UsageError`` for an unknown assignment or an output that cannot
    be written, ``BuildError`` when the committed student template is stale
    (``dlgrade build`` has not been run since its sources changed) or the
    build fails, and ``SpecError`` for a spec that cannot be used.
    """
    root = root or build_mod.find_root()
    spec = _spec(root, assignment)
    target = zip_target(Path(out) if out is not None else Path.cwd(), f"{spec.id}-handout.zip")
    template = root / "student_template" / spec.id
    built = _ensure_built(root, spec, template)
    members = _members(template, spec)
    write_zip(target, [(rel, template / rel) for rel in members])
    return Handout(target, members, built)


def _spec(root: Path, assignment: str) -> spec_mod.Assignment:
    """The spec of ``assignment``, or a ``UsageError`` naming the assignments there are."""
    folder = root / "assignments" / assignment
    if Path(assignment).name != assignment or not (folder / "assignment.yaml").is_file():
        there = sorted(p.parent.name for p in (root / "assignments").glob("*/assignment.yaml"))
        raise UsageError(f"no assignment {assignment!r} in {root / 'assignments'} "
                         f"(there: {', '.join(there) or 'none'})")
    return spec_mod.load(folder)


def zip_target(out: Path, default_name: str, what: str = "the handout") -> Path:
    """The path to write a zip to (``out``, or ``default_name`` inside the folder ``out``), checked before
    anything is built: its folder must exist and be writable. Raises ``UsageError`` naming ``what``."""
    if out.is_dir():
        out = out / default_name
    folder = out.parent
    if not folder.exists():
        raise UsageError(f"cannot write {what} to {out}: its folder does not exist")
    if not folder.is_dir():
        raise UsageError(f"cannot write {what} to {out}: {folder} is not a folder")
    try:  # a file made and removed: a read-only mount or a folder of someone else's says so now, not after a build
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{out.name}.", suffix=".probe"):
            pass
    except OSError as e:
        raise UsageError(f"cannot write {what} to {out}: {e.strerror or e}") from e
    return out


def _ensure_built(root: Path, spec: spec_mod.Assignment, template: Path) -> str:
    """Build the assignment where its template or data are missing or outdated; say why ("": not built).

    A committed notebook that a build would change is not rebuilt silently: the
    handout would not be what git holds, so this refuses (build's own check).
    """
    if (template / spec.notebook).is_file():
        stale = build_mod.build(spec.id, root=root, check=True).stale
        if stale:
            raise BuildError(f"student_template/{spec.id} is stale, so its handout would not be what its sources "
                             f"make; run `dlgrade build {spec.id}` first:\n" + "\n".join(f"  {s}" for s in stale))
        outdated = [f.name for f in spec.files if not _current(template / f.name, f, spec)]
        if not outdated:
            return ""
        reason = "its data files were missing or older than its spec: " + ", ".join(outdated)
    else:
        reason = f"student_template/{spec.id}/{spec.notebook} was missing"
    build_mod.build(spec.id, root=root)
    return reason


def _current(path: Path, f: spec_mod.DataFile, spec: spec_mod.Assignment) -> bool:
    """Whether the data file (or folder) ``f`` at ``path`` is there and no older than what it is made from."""
    if not (path.is_dir() if f.is_folder else path.is_file()) or path.is_symlink():
        return False
    sources = [spec.file]
    if f.maker == "copy":
        source = Path(f.kwargs()["path"]).expanduser()
        sources.append(source if source.is_absolute() else spec.root / source)
    made = path.stat().st_mtime
    return all(not s.exists() or s.stat().st_mtime <= made for s in sources)


def _members(template: Path, spec: spec_mod.Assignment) -> list[str]:
    """The template's files to hand out, by path inside it, sorted; no dotfile (.gitignore), no link."""
    members = sorted(p.relative_to(template).as_posix() for p in template.rglob("*")
                     if p.is_file() and not p.is_symlink()
                     and not any(part.startswith(".") for part in p.relative_to(template).parts))
    absent = [name for name in (spec.notebook, *(f.name for f in spec.files))
              if not any(m == name or m.startswith(f"{name}/") for m in members)]
    if absent:
        raise BuildError(f"{template}: {', '.join(absent)} missing after the build; run `dlgrade build {spec.id}`")
    return members


def write_zip(target: Path, members: Iterable[tuple[str, Path | bytes]], what: str = "the handout",
              executable: Collection[str] = ()) -> None:
    """Write ``members`` (each a name in the zip, and a file or the bytes it holds) into ``target``, deterministically.

    The members go in the order given, each dated 1980-01-01 with mode 644
    (755 for the names in ``executable``), already compressed files stored as
    they are; the zip is written beside ``target`` and then put in its place.
    The same members always give the same bytes. Raises ``UsageError`` naming
    ``what`` and ``target`` when it cannot be written.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.writing")
    try:
        with zipfile.ZipFile(tmp, "w") as z:
            for rel, source in members:
                info = zipfile.ZipInfo(rel, date_time=_DATE)
                info.create_system = 3  # Unix, on every platform: the mode below is read
                info.external_attr = (0o755 if rel in executable else 0o644) << 16
                info.compress_type = zipfile.ZIP_STORED if Path(rel).suffix.lower() in _COMPRESSED \
                    else zipfile.ZIP_DEFLATED
                if isinstance(source, bytes):
                    info.file_size = len(source)
                    z.writestr(info, source)
                    continue
                info.file_size = source.stat().st_size
                with source.open("rb") as src, z.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UsageError(f"cannot write {what} to {target}: {e.strerror or e}") from e

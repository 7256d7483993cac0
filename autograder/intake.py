"""Intake: a submitted file becomes a checked notebook with a student id, or a clear error.

Accepts a notebook (``.ipynb``) or the zip that Otter's ``grader.export()``
makes, under any file name. Nothing from the file is executed here; zips are
read member by member, never extracted to disk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import stat
import unicodedata
import warnings
import zipfile
from pathlib import Path

import nbformat
from nbformat.validator import iter_validate, normalize

from autograder.errors import IntakeError
from autograder.late import TimeSource

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 200 * 2**20
MAX_CELLS = 5000


@dataclasses.dataclass
class Submission:
    """A checked notebook, whose it is, and when it was submitted as far as the file tells."""

    student: str
    notebook: nbformat.NotebookNode
    source: Path
    # When the student submitted, as far as the file tells: the export zip's
    # own time (naive: zips store local time without a zone), else the file's
    # modification time (UTC). ``time_source`` says which.
    submitted_at: dt.datetime | None = None
    time_source: TimeSource = TimeSource.FILE
    notes: list[str] = dataclasses.field(default_factory=list)  # what reading the file changed (``read_notebook``)


def student_id(path: Path) -> str:
    """The id a file is graded under: its stem (Unicode NFC), made safe as a folder name.

    Letters and digits of any script are kept (``jörg`` and ``jérg`` stay two students); every run of other
    characters becomes ``_``.
    """
    stem = path.name[: -len(".ipynb")] if path.name.lower().endswith(".ipynb") else path.stem
    safe = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", stem)).strip("._") or "submission"
    return safe[:100]


def load(path: Path | str, notebook_name: str, student: str | None = None) -> Submission:
    """Read and check one submitted file: a notebook, or the zip ``grader.export()`` makes (``notebook_name`` in it).

    Raises ``IntakeError`` naming the file (and member, and cell) and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise IntakeError(f"{path}: not found (or not a regular file)")
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)
    source = TimeSource.FILE
    if zipfile.is_zipfile(path):
        raw, inner, submitted = _notebook_from_zip(path, notebook_name)
        where = f"{path} (member {inner})"
        if submitted is not None:
            modified, source = submitted, TimeSource.ZIP
    elif path.suffix.lower() == ".ipynb" or path.suffix == "":
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise IntakeError(f"{path}: the notebook is {size / 2**20:.0f} MB; the limit is "
                              f"{MAX_NOTEBOOK_BYTES // 2**20} MB (clear large outputs and save again)")
        raw, where = path.read_bytes(), str(path)
    else:
        raise IntakeError(f"{path}: expected a .ipynb notebook or the .zip that grader.export() makes")
    parsed = read_notebook(raw, where)
    return Submission(student=student or student_id(path), notebook=parsed.notebook, source=path,
                      submitted_at=modified, time_source=source, notes=parsed.notes)


def _json_of(raw: bytes, where: str) -> object:
    """The file's JSON; an IntakeError for an empty file, one that is not UTF-8, or not JSON."""
    if not raw.strip():
        raise IntakeError(f"{where}: the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IntakeError(f"{where}: not UTF-8 text (byte {e.start}); is this really a notebook?") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise IntakeError(f"{where}: not valid notebook JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None


#: The byte-order mark some Windows editors put at the start of a UTF-8 file; Jupyter never writes one.
_BOM = b"\xef\xbb\xbf"
#: The newest nbformat 4 minor version nbformat knows; notebooks are graded in it.
CURRENT_MINOR = nbformat.v4.nbformat_minor


@dataclasses.dataclass
class Parsed:
    """A notebook read from a file, upgraded to nbformat 4.5, and notes on what reading it changed."""

    notebook: nbformat.NotebookNode
    notes: list[str]


def read_notebook(raw: bytes, where: str) -> Parsed:
    """Bytes to a validated nbformat-4.5 notebook: any notebook nbformat can read, as Jupyter would open it.

    nbformat 4.0-4.4 (Colab, VS Code, Notebook 6 and ``otter assign`` save
    them) is upgraded with nbformat's own ``v4.upgrade``, nbformat 3 converted
    with nbformat's own converter; duplicate cell ids are made unique, cells
    without ids get them, a UTF-8 byte-order mark is dropped; each change is
    a note. Raises ``IntakeError`` naming ``where`` (and the cell) for what
    nbformat cannot read: not UTF-8, not JSON, not a notebook, invalid
    against its own version's schema.
    """
    notes: list[str] = []
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
        notes.append("the file starts with a UTF-8 byte-order mark (some Windows editors write one): removed")
    data = _json_of(raw, where)
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise IntakeError(f"{where}: JSON, but not a Jupyter notebook (no 'cells')")
    major = data.get("nbformat")
    if major == 3:
        nb = _from_v3(data, where)
        notes.append("saved as nbformat 3 (IPython 2): converted to nbformat 4.5 with nbformat's own converter")
    elif major == 4:
        nb = _from_v4(data, where, notes)
    else:
        raise IntakeError(f"{where}: nbformat {major!r} is not a notebook version Jupyter reads (3 or 4)")
    if len(nb.cells) > MAX_CELLS:
        raise IntakeError(f"{where}: {len(nb.cells)} cells; the limit is {MAX_CELLS}")
    return Parsed(nb, notes)


def parse_notebook(raw: bytes, where: str) -> nbformat.NotebookNode:
    """The notebook of ``read_notebook``, without its notes; raises ``IntakeError`` as it does."""
    return read_notebook(raw, where).notebook


def _from_v3(data: dict, where: str) -> nbformat.NotebookNode:
    _check_schema(data, where, 3, None)
    return _rejoined(nbformat.convert(nbformat.from_dict(data), 4))


def _from_v4(data: dict, where: str, notes: list[str]) -> nbformat.NotebookNode:
    minor = data.get("nbformat_minor")
    if isinstance(minor, bool) or not isinstance(minor, int) or minor < 0:
        raise IntakeError(f"{where}: nbformat_minor is {minor!r}; a notebook's is a whole number such as 4 or 5")
    cells = data.get("cells")
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise IntakeError(f"{where}: {len(cells)} cells; the limit is {MAX_CELLS}")
    if minor >= 5 and isinstance(cells, list):
        missing = [c for c in cells if isinstance(c, dict) and "id" not in c]
        for i, cell in enumerate(missing):
            cell["id"] = f"dlgrade-{i}"
        if missing:
            notes.append(f"{len(missing)} cell(s) had no id, which nbformat 4.5 requires: ids given")
    _check_schema(data, where, 4, min(minor, CURRENT_MINOR))
    nb = nbformat.from_dict(data)
    if minor < CURRENT_MINOR:
        nb = nbformat.v4.upgrade(nb, from_version=4, from_minor=minor)
        nb.metadata.pop("orig_nbformat_minor", None)
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"cell-{i}"  # the same every time (upgrade draws random ones)
        notes.append(f"saved as nbformat 4.{minor} (as Colab, VS Code, Notebook 6 and otter assign save): read as "
                     f"4.{CURRENT_MINOR}, the version Jupyter writes today")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat warns of each repair; the note below says it once
        changes, repaired = normalize(nb)
    if changes:
        notes.append("cell ids that appeared twice were made unique")
        nb = nbformat.from_dict(repaired)
    return _rejoined(nb)


def _check_schema(data: dict, where: str, major: int, minor: int | None) -> None:
    """Raise ``IntakeError`` for the first place the notebook breaks its own version's schema, naming the cell."""
    errors = list(iter_validate(data, version=major, version_minor=minor))
    if not errors:
        return
    first = errors[0]
    path = "/".join(str(p) for p in first.absolute_path) or "(top level)"
    if path.startswith("cells/") and path.split("/")[1].isdigit():
        path = f"cell {int(path.split('/')[1]) + 1} ({path})"
    version = f"{major}.{minor}" if minor is not None else str(major)
    raise IntakeError(f"{where}: not a valid nbformat-{version} notebook at {path}: {first.message[:300]}")


def _rejoined(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every multi-line source and output joined into one string, as nbformat reads files."""
    return nbformat.reads(json.dumps(nb), as_version=4)


def _notebook_from_zip(path: Path, notebook_name: str) -> tuple[bytes, str, dt.datetime | None]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise IntakeError(f"{path}: a broken zip file ({e})") from None
    with zf:
        members = zf.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise IntakeError(f"{path}: {len(members)} files in the zip; the limit is {MAX_ZIP_MEMBERS}")
        _check_members(path, members)
        chosen = _choose_notebook(path, members, notebook_name)
        if chosen.file_size > MAX_NOTEBOOK_BYTES:
            raise IntakeError(f"{path}: the notebook {chosen.filename} is {chosen.file_size / 2**20:.0f} MB; "
                              f"the limit is {MAX_NOTEBOOK_BYTES // 2**20} MB")
        with zf.open(chosen) as f:
            raw = f.read(MAX_NOTEBOOK_BYTES + 1)
        if len(raw) > MAX_NOTEBOOK_BYTES:
            raise IntakeError(f"{path}: the notebook {chosen.filename} is larger than declared in the zip")
        submitted = None
        try:
            submitted = dt.datetime(*chosen.date_time)  # local time where it was zipped; no zone
        except ValueError:
            pass
        return raw, chosen.filename, submitted


def _check_members(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip with an unsafe path, a link, or more than ``MAX_ZIP_TOTAL_BYTES`` unpacked."""
    total = 0
    for m in members:
        name = m.filename
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[/\\]", name):
            raise IntakeError(f"{path}: unsafe path in zip: {name!r} (absolute or with '..')")
        if stat.S_ISLNK(m.external_attr >> 16):
            raise IntakeError(f"{path}: the zip contains a symbolic link: {name!r}")
        total += m.file_size
        if total > MAX_ZIP_TOTAL_BYTES:
            raise IntakeError(f"{path}: the zip unpacks to more than {MAX_ZIP_TOTAL_BYTES // 2**20} MB")


def _choose_notebook(path: Path, members: list[zipfile.ZipInfo], notebook_name: str) -> zipfile.ZipInfo:
    """The zip's notebook: the one named ``notebook_name``, else the only one; an IntakeError otherwise."""
    notebooks = [m for m in members if m.filename.endswith(".ipynb") and not m.is_dir()
                 and not m.filename.startswith("__MACOSX") and "/.ipynb_checkpoints/" not in f"/{m.filename}"]
    if not notebooks:
        raise IntakeError(f"{path}: the zip holds no .ipynb notebook")
    exact = [m for m in notebooks if Path(m.filename).name == notebook_name]
    if len(exact) == 1:
        return exact[0]
    if len(notebooks) == 1:
        return notebooks[0]
    names = ", ".join(m.filename for m in notebooks[:10])
    raise IntakeError(f"{path}: several notebooks in the zip and none is {notebook_name}: {names}")

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
import zipfile
from pathlib import Path

import nbformat
from nbformat.validator import iter_validate

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


def student_id(path: Path) -> str:
    """The id a file is graded under: its stem, made safe as a folder name."""
    stem = path.name[: -len(".ipynb")] if path.name.endswith(".ipynb") else path.stem
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "submission"
    return safe[:100]


def load(path: Path | str, notebook_name: str, student: str | None = None) -> Submission:
    """Read and check one submitted file."""
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
    elif path.suffix == ".ipynb" or path.suffix == "":
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise IntakeError(f"{path}: the notebook is {size / 2**20:.0f} MB; the limit is "
                              f"{MAX_NOTEBOOK_BYTES // 2**20} MB (clear large outputs and save again)")
        raw, where = path.read_bytes(), str(path)
    else:
        raise IntakeError(f"{path}: expected a .ipynb notebook or the .zip that grader.export() makes")
    nb = parse_notebook(raw, where)
    return Submission(student=student or student_id(path), notebook=nb, source=path, submitted_at=modified,
                      time_source=source)


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


def parse_notebook(raw: bytes, where: str) -> nbformat.NotebookNode:
    """Bytes to a validated nbformat-4 notebook; raises ``IntakeError`` naming ``where`` and what is wrong."""
    data = _json_of(raw, where)
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise IntakeError(f"{where}: JSON, but not a Jupyter notebook (no 'cells')")
    major = data.get("nbformat")
    if major != 4:
        raise IntakeError(f"{where}: nbformat {major} is not supported; open it in a current Jupyter "
                          "and save it again (nbformat 4)")
    if len(data.get("cells", [])) > MAX_CELLS:
        raise IntakeError(f"{where}: {len(data['cells'])} cells; the limit is {MAX_CELLS}")
    for i, cell in enumerate(data.get("cells") or []):
        # Cell ids arrived in nbformat 4.5; older files lack them, which is harmless.
        if isinstance(cell, dict) and "id" not in cell:
            cell["id"] = f"cell-{i}"
    errors = list(iter_validate(data, version=4))
    if errors:
        first = errors[0]
        path = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        if path.startswith("cells/") and path.split("/")[1].isdigit():
            path = f"cell {int(path.split('/')[1]) + 1} ({path})"
        raise IntakeError(f"{where}: not a valid nbformat-4 notebook at {path}: {first.message[:300]}")
    return nbformat.reads(json.dumps(data), as_version=4)  # joins multi-line sources


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

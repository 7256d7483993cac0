"""What Gradescope hands a grading run: the student's upload and ``submission_metadata.json``.

``choose`` finds the one file to grade among the upload (Gradescope unpacks
an uploaded zip, so a ``grader.export()`` zip arrives as its notebook, or
whole where it is not unpacked); ``read_metadata`` reads who submitted it
and when; ``write_roster`` makes of that the one-row roster a batch reads,
so that the student's id, name, submission time and own deadline go
through dlgrade's usual paths (``roster``, ``batch.jobs.annotate``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

from autograder import intake
from autograder.errors import IntakeError

#: What can be graded: a notebook, or the zip ``grader.export()`` makes (matched in any case: ``.IPYNB``).
SUFFIXES = (".ipynb", ".zip")


@dataclasses.dataclass(frozen=True)
class Choice:
    """The file to grade, or why there is none (``problem``), with what else the upload held (``notes``)."""

    path: Path | None
    problem: str = ""
    notes: tuple[str, ...] = ()


def uploaded(folder: Path) -> list[Path]:
    """Every file (and link) of the upload, by path, sorted; hidden entries (``.ipynb_checkpoints``) and macOS's
    left out. Links are listed but never read (``choose``): one could point at the reference solution."""
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.rglob("*"))
            if (p.is_symlink() or p.is_file()) and not any(part.startswith(".") or part == "__MACOSX"
                                                           for part in p.relative_to(folder).parts)]


def choose(folder: Path, notebook_name: str) -> Choice:
    """The one gradable file in ``folder`` (searched through its subfolders), or why none can be chosen.

    One notebook or zip is chosen whatever its name (a broken one too: grading
    says what is wrong with it); a link never is. Among several, the one that reads as a
    notebook (``intake.load``) is chosen, or of several that hold the same cells (a notebook and its export
    zip) the notebook; none or several that differ is a ``problem``
    naming the files and saying what to upload, ``notebook_name`` (``a1.ipynb``).
    """
    files = uploaded(folder)
    names = [str(p.relative_to(folder)) + (" (a link: not read)" if p.is_symlink() else "") for p in files]
    upload = f"upload your {notebook_name} (or the zip that grader.export() made)"
    candidates = [p for p in files if p.suffix.lower() in SUFFIXES and not p.is_symlink()]
    if not candidates:
        held = ", ".join(names[:20]) + (" …" if len(names) > 20 else "") if names else "no files at all"
        return Choice(None, f"your upload holds no notebook: {held}; {upload}")
    if len(candidates) == 1:
        return Choice(candidates[0])
    reasons, sources = {}, {}
    for path in candidates:
        try:
            sources[path] = tuple(str(c.get("source", "")) for c in intake.load(path, notebook_name).notebook.cells)
        except IntakeError as e:
            reasons[path] = str(e).replace(str(folder) + "/", "")
    readable = [p for p in candidates if p not in reasons]
    if len(readable) > 1 and len(set(sources.values())) == 1:  # a notebook and the zip grader.export() made of it
        first = min(readable, key=lambda p: (p.suffix.lower() != ".ipynb", str(p)))
        same = ", ".join(str(p.relative_to(folder)) for p in readable if p != first)
        return Choice(first, notes=(f"graded {first.relative_to(folder)}; {same} holds the same notebook",))
    if len(readable) == 1:
        set_aside = ", ".join(str(p.relative_to(folder)) for p in reasons)
        return Choice(readable[0], notes=(f"graded {readable[0].relative_to(folder)}; not graded (not a notebook "
                                          f"that can be read): {set_aside}",))
    if readable:
        listed = ", ".join(str(p.relative_to(folder)) for p in readable)
        return Choice(None, f"your upload holds {len(readable)} notebooks, and nothing tells which to grade: "
                            f"{listed}; {upload} and no other .ipynb or .zip file")
    return Choice(None, "none of the notebooks in your upload can be read: "
                        + "; ".join(reasons.values()) + f"; {upload}")


@dataclasses.dataclass(frozen=True)
class Submitter:
    """Who submitted, as Gradescope says: the id graded under, name, email, time and the student's own deadline.

    ``student_id`` is the user's student id (``sid``), else their email, else
    Gradescope's user id. ``due`` is set only where the user's deadline differs
    from the assignment's (an extension). ``notes`` say what in the metadata
    could not be used.
    """

    student_id: str
    name: str = ""
    email: str = ""
    submitted_at: dt.datetime | None = None
    due: dt.datetime | None = None
    group: tuple[str, ...] = ()  # the other members of a group submission, by name or email
    notes: tuple[str, ...] = ()


def read_metadata(path: Path) -> Submitter | None:
    """The submitter that Gradescope's ``submission_metadata.json`` names; None without the file or any user.

    A time that is not ISO 8601 with a zone is left out, with a note (no
    late penalty can then be judged from it); an unreadable file is as none.
    """
    try:
        data = _object(json.loads(Path(path).read_text()))
    except (OSError, ValueError):
        return None
    users = [u for u in data.get("users") or [] if isinstance(u, dict)] if isinstance(data.get("users"), list) else []
    if not users:
        return None
    user, notes = users[0], list[str]()
    student_id = next((str(user[k]).strip() for k in ("sid", "email", "id") if str(user.get(k) or "").strip()), "")
    if not student_id:
        return None
    submitted = _time(data.get("created_at"), "created_at", notes)
    due = _time(_object(user.get("assignment")).get("due_date"), "users[0].assignment.due_date", notes)
    general = _time(_object(data.get("assignment")).get("due_date"), "assignment.due_date", [])
    group = tuple(str(u.get("name") or u.get("email") or u.get("id")) for u in users[1:])
    return Submitter(student_id=student_id, name=str(user.get("name") or ""), email=str(user.get("email") or ""),
                     submitted_at=submitted, due=due if due is not None and due != general else None, group=group,
                     notes=tuple(notes))


def _object(value: object) -> dict:
    """``value`` where it is a JSON object, else an empty one: metadata missing a key reads as missing it."""
    return value if isinstance(value, dict) else {}


def _time(value: object, key: str, notes: list[str]) -> dt.datetime | None:
    """An ISO 8601 time with a zone from the metadata; None (with a note where one was given but is unusable)."""
    if value in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        notes.append(f"submission_metadata.json: {key}: {value!r} is not an ISO 8601 time; not used")
        return None
    if when.tzinfo is None:
        notes.append(f"submission_metadata.json: {key}: {value!r} has no time zone; not used")
        return None
    return when


def file_stem(student_id: str) -> str:
    """A file name's stem for the submission's copy, from the student id: safe on any disk, never hidden."""
    stem = re.sub(r"[\x00-\x1f/\\]", "_", student_id).lstrip(".").strip()[:100]
    return stem or "student"


def write_roster(submitter: Submitter, stem: str, path: Path) -> None:
    """The one-row roster (``roster.Roster.load``'s simple CSV) that matches the file named ``stem``.

    The file's stem is the student id where that is a safe file name; where it
    is not, the row's ``login`` is the stem, so the roster matches it all the same.
    """
    row = {"student_id": submitter.student_id, "name": submitter.name, "email": submitter.email,
           "login": stem if stem.casefold() != submitter.student_id.casefold() else "",
           "submitted_at": submitter.submitted_at.isoformat() if submitter.submitted_at else "",
           "due": submitter.due.isoformat() if submitter.due else ""}
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)

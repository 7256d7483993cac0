"""A class roster and Canvas file names: which student a submitted file belongs to.

Batch grading needs one stable id per student, but submissions arrive under
names the LMS chose (``smithjane_LATE_12345_67890_a1-1.ipynb``) or the student
chose (``jane.ipynb``). A roster ties those names to the institution's own
student id, so that grades go back to the right row of the gradebook.

The naming rules follow Canvas's own code (``ContentZipper`` for the bulk
download, ``GradebookExporter``/``GradebookImporter`` for the gradebook CSV),
so that files and exports are read as Canvas writes them.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable
from pathlib import Path

from autograder import intake
from autograder.errors import RosterError

# -- Canvas bulk-download file names -------------------------------------------

# Canvas names each file ``<name>[_LATE]_<user id>_<attachment id>_<file name>``,
# where <name> is the sortable name ("Smith, Jane") lowercased with everything
# but word characters removed, and with any ``_<digits>_`` taken out so that
# the ids stay findable. Under anonymous grading <name> is left out and the id
# is ``anon_<anonymous id>``, so a late one reads ``LATE_anon_<id>_...``.
_LMS_NAME = re.compile(r"""
    ^(?:
        (?P<anon_late>LATE_)?anon_(?P<anon_id>[A-Za-z0-9]+)      # anonymous grading
      | (?P<login>[^\W\d_]\w*?)(?P<late>_LATE)?_(?P<user_id>\d+)  # lastfirst[_LATE]_<user id>
    )
    _(?P<submission_id>\d+)_(?P<original>.+)$
""", re.VERBOSE)

# Otter's ``grader.export()`` names its zip ``<notebook stem>_<YYYY_MM_DDTHH_MM_SS_ffffff>.zip``. Read as a Canvas
# name, ``a1_2026_11_30T23_59_59_333333.zip`` has the "ids" 2026 and 11; a Canvas download of such a zip keeps
# the export's whole name after its own ids.
_OTTER_EXPORT_NAME = re.compile(r"^(?P<stem>.+)_(?P<time>\d{4}_\d{2}_\d{2}T\d{2}_\d{2}_\d{2}_\d{6})\.zip$")

# Canvas keeps file names unique by adding -1, -2, ... before the extension
# (a student who uploads a1.ipynb twice, or two files of one name in a zip).
_RESUBMISSION_SUFFIX = re.compile(r"^(?P<base>.+?)-\d{1,3}(?P<ext>\.[A-Za-z0-9]+)?$")


@dataclasses.dataclass(frozen=True)
class LmsName:
    """What a Canvas bulk-download file name says about its submission.

    ``submission_id`` is the second number Canvas writes: the id of the
    uploaded file (an attachment), unique per file. ``user_id`` is the Canvas
    user id, or empty under anonymous grading, where ``login`` is
    ``anon_<anonymous id>``. ``original_name`` is the student's file name
    without Canvas's ``-1``/``-2`` de-duplication suffix.
    """

    login: str
    user_id: str
    submission_id: str
    late: bool
    original_name: str


def parse_lms_name(filename: str) -> LmsName | None:
    """The parts of a Canvas bulk-download file name, or None for any other name.

    Conservative on purpose: the name part must be lowercase and start with a
    letter, and both ids must be digits, so ``alice.ipynb`` or
    ``Lab_1_2_x.ipynb`` are never mistaken for LMS names; nor is an Otter
    export zip's own name (``a1_2026_11_30T23_59_59_333333.zip``), whose date
    would otherwise read as two ids.
    """
    name = Path(filename).name
    m = _LMS_NAME.match(name)
    if not m:
        return None
    if _OTTER_EXPORT_NAME.match(name) and not _OTTER_EXPORT_NAME.match(m["original"]):
        return None  # the "ids" are part of the export's date: a Canvas download keeps the export's whole name
    original = m["original"]
    suffix = _RESUBMISSION_SUFFIX.match(original)
    if suffix:
        original = suffix["base"] + (suffix["ext"] or "")
    if m["anon_id"]:
        return LmsName(login=f"anon_{m['anon_id']}", user_id="", submission_id=m["submission_id"],
                       late=bool(m["anon_late"]), original_name=original)
    if m["login"] != m["login"].lower():
        return None
    return LmsName(login=m["login"], user_id=m["user_id"], submission_id=m["submission_id"],
                   late=bool(m["late"]), original_name=original)


# -- the roster ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RosterEntry:
    """One student as the roster knows them; empty strings where a column is absent."""

    student_id: str
    name: str = ""
    canvas_id: str = ""
    sis_login: str = ""
    section: str = ""
    submitted_at: dt.datetime | None = None
    email: str = ""
    due: dt.datetime | None = None  # this student's own deadline (an extension), in place of the spec's
    extension_days: float | None = None  # days added to the spec's deadline for this student


def _safe_id(text: str) -> str:
    """``text`` made safe as a folder name exactly as intake names submissions.

    Goes through ``intake.student_id`` (with a ``.ipynb`` it strips again) so
    that the two can never disagree; a ``/`` would otherwise split the path.
    """
    return intake.student_id(Path(text.replace("/", "_") + ".ipynb"))


def _stem(file: Path) -> str:
    """The file name without its extension, as intake.student_id reads it (before sanitising)."""
    return file.name[: -len(".ipynb")] if file.name.endswith(".ipynb") else file.stem


#: The longest extension in days a roster may give (``extension_days``); a later deadline is a ``due``.
MAX_EXTENSION_DAYS = 366

# Simple roster: header names, lowercased, to RosterEntry fields.
_SIMPLE_COLUMNS = {"student_id": "student_id", "name": "name", "canvas_id": "canvas_id",
                   "login": "sis_login", "email": "email", "section": "section",
                   "submitted_at": "submitted_at", "due": "due", "extension_days": "extension_days"}
# Rows Canvas puts between the header and the students: "Points Possible", and
# a row of "Manual Posting"/"Muted" marks when some assignment posts manually.
_CANVAS_MARK_ROW = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)


@dataclasses.dataclass
class Roster:
    """The students of a class, looked up by Canvas user id, login and student id."""

    entries: list[RosterEntry]
    source: Path

    def __post_init__(self) -> None:
        self._by_canvas_id = {e.canvas_id: e for e in self.entries if e.canvas_id}
        self._by_login = {e.sis_login.casefold(): e for e in self.entries if e.sis_login}
        self._by_student_id = {e.student_id.casefold(): e for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def without(self, graded: set[str]) -> list[RosterEntry]:
        """The students none of ``graded`` (ids as ``student_for`` gives them) is: who handed nothing in."""
        have = {g.casefold() for g in graded}
        return [e for e in self.entries if _safe_id(e.student_id).casefold() not in have]

    @classmethod
    def load(cls, path: Path | str) -> Roster:
        """Read a simple roster CSV or a Canvas gradebook export, as saved.

        A simple roster has a ``student_id`` column and optionally ``name``,
        ``canvas_id``, ``login``, ``email``, ``section``, ``submitted_at``
        (ISO-8601 with a zone) and an extension: ``due`` (the student's own
        deadline, ISO-8601 with a zone) or ``extension_days`` (days added to
        the spec's deadline); other columns are ignored. A Canvas export is
        recognised by its ``Student`` and ``ID`` columns; its student id is the
        SIS User ID, else the SIS Login ID, else the Canvas ID.
        """
        path = Path(path)
        rows = _read_rows(path)
        lowered = [h.strip().lower() for h in rows[0]]
        if "student_id" in lowered:
            entries = _simple_entries(path, lowered, rows)
        elif "id" in lowered and ("student" in lowered or "lastname" in lowered):
            entries = _canvas_entries(path, lowered, rows)
        else:
            raise RosterError(path, 1, "student_id",
                              "missing; a roster needs a student_id column (optional: name, canvas_id, login, "
                              "email, section, submitted_at), or use a Canvas gradebook export as downloaded")
        if not entries:
            raise RosterError(path, None, None, "no students: the file has a header but no student rows")
        return cls(entries, path)

    def match(self, file: Path) -> RosterEntry | None:
        """The roster entry a submission file belongs to, or None.

        Tried in order, each unambiguous by construction (``load`` rejects
        duplicates): the Canvas user id of an LMS name; the LMS name's
        lastfirst part or the file stem as a login; the file stem as a student id.
        """
        file = Path(file)
        lms = parse_lms_name(file.name)
        if lms and lms.user_id in self._by_canvas_id:
            return self._by_canvas_id[lms.user_id]
        stem = _stem(file)
        for login in ([lms.login] if lms else []) + [stem]:
            if login.casefold() in self._by_login:
                return self._by_login[login.casefold()]
        return self._by_student_id.get(stem.casefold())


def _read_rows(path: Path) -> list[list[str]]:
    """The CSV's rows, blank lines dropped; a RosterError for an unreadable file."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise RosterError(path, None, None, f"cannot be read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")  # Excel and Canvas both write a BOM
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise RosterError(path, line, None, f"not UTF-8 text (byte {e.start}); save it as \"CSV UTF-8\" "
                                           "and try again") from None
    if not text.strip():
        raise RosterError(path, None, None, "the file is empty; it needs a header row and one row per student")
    # Canvas writes semicolons where the user's locale uses a decimal comma.
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
    except csv.Error as e:
        raise RosterError(path, reader.line_num, None, f"not readable as CSV ({e}); "
                                                       "check the quotes on this line") from None
    return rows or [[]]


def _records(rows: list[list[str]], lowered: list[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {lowercased header: stripped cell}) for each row after the header."""
    for number, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row] + [""] * (len(lowered) - len(row))
        yield number, {h: cells[i] for i, h in enumerate(lowered) if h}


def _simple_entries(path: Path, lowered: list[str], rows: list[list[str]]) -> list[RosterEntry]:
    unique = _Unique(path)
    entries = []
    for number, record in _records(rows, lowered):
        fields = {field: record.get(column, "") for column, field in _SIMPLE_COLUMNS.items()}
        if not fields["student_id"]:
            raise RosterError(path, number, "student_id", "empty; every student needs an id")
        when = _timestamp(path, number, fields.pop("submitted_at"), "submitted_at")
        due = _timestamp(path, number, fields.pop("due"), "due")
        extension = _days(path, number, fields.pop("extension_days"))
        if due is not None and extension is not None:
            raise RosterError(path, number, "extension_days", "given with due as well; give one: the student's own "
                                                              "deadline (due) or days added to the assignment's "
                                                              "(extension_days)")
        entry = RosterEntry(**fields, submitted_at=when, due=due, extension_days=extension)
        unique.add(entry, number, id_column="student_id", canvas_column="canvas_id", login_column="login")
        entries.append(entry)
    return entries


def _canvas_entries(path: Path, lowered: list[str], rows: list[list[str]]) -> list[RosterEntry]:
    unique = _Unique(path)
    entries = []
    for number, record in _records(rows, lowered):
        first = record.get("student", record.get("lastname", ""))
        if first == "Points Possible" or all(_CANVAS_MARK_ROW.match(v) for v in record.values()):
            continue
        if "student" in record:
            name = _unformula(record["student"])
        else:  # the "LastName, FirstName" variant of the export
            name = ", ".join(_unformula(record[k]) for k in ("lastname", "firstname") if record.get(k))
        canvas_id = record.get("id", "")
        student_id = record.get("sis user id") or record.get("sis login id") or canvas_id
        if not student_id:
            raise RosterError(path, number, "ID", "empty, and so are SIS User ID and SIS Login ID: "
                                                  "this row names no student; delete it or re-export the gradebook")
        entry = RosterEntry(student_id=student_id, name=name, canvas_id=canvas_id,
                            sis_login=record.get("sis login id", ""), section=record.get("section", ""))
        id_column = ("SIS User ID" if record.get("sis user id")
                     else "SIS Login ID" if record.get("sis login id") else "ID")
        unique.add(entry, number, id_column=id_column, canvas_column="ID", login_column="SIS Login ID")
        entries.append(entry)
    return entries


def _unformula(name: str) -> str:
    """A name as typed: Canvas exports names starting with '=' as ="...", to keep Excel from evaluating them."""
    m = re.fullmatch(r'="(.*)"', name)
    return m[1] if m else name


def _timestamp(path: Path, row: int, text: str, column: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RosterError(path, row, column, f"{text!r} is not an ISO-8601 time; write it like "
                                             "2026-10-02T23:59:00+02:00") from None
    if when.tzinfo is None:
        raise RosterError(path, row, column, f"{text!r} has no time zone; add one, e.g. "
                                             f"{when.isoformat()}+02:00 or {when.isoformat()}Z for UTC")
    return when


def _days(path: Path, row: int, text: str) -> float | None:
    """An ``extension_days`` cell: a number of days (fractions allowed), 0 or more; None where empty."""
    if not text:
        return None
    try:
        days = float(text)
    except ValueError:
        raise RosterError(path, row, "extension_days", f"{text!r} is not a number of days; write e.g. 3 or "
                                                       "1.5") from None
    if not 0 <= days <= MAX_EXTENSION_DAYS:
        raise RosterError(path, row, "extension_days", f"{text!r}: an extension is 0 to {MAX_EXTENSION_DAYS} days; "
                                                       "for a deadline further off give the student's own in due")
    return days


class _Unique:
    """Rejects a second row with the same id, Canvas id or login: a file must match one student only."""

    def __init__(self, path: Path):
        self.path = path
        self.seen: dict[tuple[str, str], int] = {}

    def add(self, entry: RosterEntry, row: int, id_column: str, canvas_column: str, login_column: str) -> None:
        # Ids are compared as the folders they become (case-folded, for macOS and Windows).
        keys = [(id_column, "student id", _safe_id(entry.student_id).casefold(), " (as a folder name, ignoring case)")]
        if entry.canvas_id:
            keys.append((canvas_column, "Canvas id", entry.canvas_id, ""))
        if entry.sis_login:
            keys.append((login_column, "login", entry.sis_login.casefold(), " (ignoring case)"))
        for column, what, key, how in keys:
            if (what, key) in self.seen:
                raise RosterError(self.path, row, column,
                                  f"duplicate {what} {key!r}{how}: row {self.seen[what, key]} has it too; "
                                  "each student must appear once")
            self.seen[what, key] = row


def student_for(file: Path, roster: Roster | None) -> tuple[str, RosterEntry | None, LmsName | None]:
    """The id a submission is graded under, with its roster entry and LMS name where known.

    The roster's student id when the file matches a student; else, for a Canvas
    file name, ``<lastfirst>_<user id>`` (the same for all of one student's
    files, and distinct for two students of the same name); else intake's id
    from the file name. Always a safe folder name.
    """
    file = Path(file)
    lms = parse_lms_name(file.name)
    entry = roster.match(file) if roster else None
    if entry:
        return _safe_id(entry.student_id), entry, lms
    if lms:
        return _safe_id(f"{lms.login}_{lms.user_id}" if lms.user_id else lms.login), None, lms
    return intake.student_id(file), None, None

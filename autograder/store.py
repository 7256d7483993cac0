"""The gradebook store: one SQLite file per results folder, written as each result is done.

Each result is one transaction, so a batch killed at any moment leaves every
finished result readable and the rest to do; the submission's hash says
whether a stored result is still current.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path

from autograder import overrides
from autograder.errors import StoreError, UsageError
from autograder.results import GradingResult, Override, ResultStatus

SCHEMA = """
create table if not exists results (
    student   text primary key,
    source    text not null,
    sha256    text not null,
    status    text not null,
    score     real not null,
    possible  real not null,
    result    text not null,
    stored_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create table if not exists calibration (
    key         text primary key,
    figures     text not null,
    seconds     real not null,
    measured_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
create table if not exists meta (
    key   text primary key,
    value text not null
);
create table if not exists set_aside (
    source  text primary key,
    student text not null,
    outcome text not null,
    reason  text not null
);
create table if not exists overrides (
    student  text not null,
    question text not null,
    test     text not null,  -- '' for the whole question
    score    real not null,
    comment  text not null,
    by_whom  text not null,
    at       text not null default (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    primary key (student, question, test)
)
"""
# Columns added after the first release: a store written before gets them (and its rows an empty value).
_ADDED_COLUMNS = {"results": [("bundle", "text not null default ''")]}


def file_hash(path: Path) -> str:
    """The sha256 of a file's bytes, as hex: whether a stored result is still current."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    """The gradebook store of one results folder (SQLite); each write is one transaction, ``StoreError`` if it fails."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("pragma journal_mode=wal")
        self.db.executescript(SCHEMA)
        for table, columns in _ADDED_COLUMNS.items():
            have = {row[1] for row in self.db.execute(f"pragma table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    self.db.execute(f"alter table {table} add column {name} {kind}")
        self.db.commit()

    @classmethod
    def of_results(cls, out: Path) -> "Store":
        """The store of a results folder that ``dlgrade grade`` wrote; ``UsageError`` where ``out`` holds none."""
        store_file = Path(out) / "gradebook.sqlite"
        if not store_file.exists():
            raise UsageError(f"{store_file}: no gradebook here; grade into {out} first")
        return cls(store_file)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def current(self, student: str, sha256: str) -> str | None:
        """The digest of the bundle a finished result for this very file was graded with ('' where the store
        predates that record), or None where there is none (errors are graded again)."""
        row = self.db.execute("select sha256, status, bundle from results where student = ?", (student,)).fetchone()
        if row is None or row[0] != sha256 or row[1] not in (ResultStatus.GRADED, ResultStatus.REJECTED):
            return None
        return str(row[2])

    @contextlib.contextmanager
    def _writing(self, what: str):
        """A transaction; a failed write leaves the store as it was (SQLite rolls the transaction back)."""
        try:
            with self.db:
                yield
        except sqlite3.Error as e:
            raise StoreError(
                f"{self.path}: could not store {what}: {e}. Everything stored before is kept and the store is "
                "readable; make room (or fix the disk) and run the same command again: only what is missing is "
                "graded") from None

    def put(self, result: GradingResult, sha256: str) -> None:
        """Store a result as the hidden tests gave it: scores set by hand live apart (``put_override``)."""
        result = overrides.automatic(result)
        with self._writing(f"the result of {result.student}"):
            self.db.execute(
                "insert or replace into results (student, source, sha256, status, score, possible, result, bundle) "
                "values (?, ?, ?, ?, ?, ?, ?, ?)",
                (result.student, result.source, sha256, result.status, result.score, result.possible,
                 json.dumps(result.to_dict(), default=str), result.bundle),
            )

    def files(self) -> list[tuple[str, str, str]]:
        """(student, source, sha256) of every stored result; the sha256 is empty for a refusal."""
        rows = self.db.execute("select student, source, sha256 from results order by student").fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def forget(self, student: str) -> None:
        """Remove a student's stored result (one whose file now belongs to another id)."""
        with self._writing(f"the removal of {student}'s old result"):
            self.db.execute("delete from results where student = ?", (student,))

    def put_set_aside(self, items: list[tuple[str, str, str, str]]) -> None:
        """The files this run set aside, (source, student, outcome, reason) each, in place of the last run's."""
        with self._writing("the files set aside"):
            self.db.execute("delete from set_aside")
            self.db.executemany("insert or replace into set_aside (source, student, outcome, reason) "
                                "values (?, ?, ?, ?)", items)

    def set_aside(self) -> list[tuple[str, str, str, str]]:
        """The files the last run set aside: (source, student, outcome, reason), by student."""
        rows = self.db.execute("select source, student, outcome, reason from set_aside order by student, source")
        return [tuple(map(str, row)) for row in rows.fetchall()]  # type: ignore[misc]

    def calibration(self, key: str) -> dict[str, float] | None:
        """The reference figures measured for this machine and bundle, if this batch has them."""
        row = self.db.execute("select figures from calibration where key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_calibration(self, key: str, figures: dict[str, float], seconds: float) -> None:
        with self._writing("the reference figures"):
            self.db.execute("insert or replace into calibration (key, figures, seconds) values (?, ?, ?)",
                            (key, json.dumps(figures, sort_keys=True), seconds))

    def set_meta(self, key: str, value: str) -> None:
        with self._writing(f"the batch's {key}"):
            self.db.execute("insert or replace into meta (key, value) values (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def results(self, overridden: bool = True) -> list[GradingResult]:
        """Every stored result, by student, with the scores set by hand applied (``overridden=False``: without)."""
        rows = self.db.execute("select result from results order by student").fetchall()
        results = [GradingResult.from_dict(json.loads(r[0])) for r in rows]
        return [self.overridden(r)[0] for r in results] if overridden else results

    def overridden(self, result: GradingResult) -> tuple[GradingResult, list[str]]:
        """``result`` with its student's overrides applied, and a line for each that matches nothing in it."""
        mine = self.overrides(result.student)
        return overrides.applied(result, mine) if mine else (result, [])

    def put_override(self, student: str, override: Override) -> None:
        """Keep a score set by hand (in place of any earlier one for the same question or test)."""
        with self._writing(f"the override of {student}'s {override.target}"):
            self.db.execute("insert or replace into overrides (student, question, test, score, comment, by_whom, at) "
                            "values (?, ?, ?, ?, ?, ?, ?)", (student, override.question, override.test,
                                                             override.score, override.comment, override.by,
                                                             override.at))

    def move_overrides(self, student: str, to: str) -> int:
        """Give a student's overrides to the id their file is now graded as (``to`` keeps any of its own for
        the same question or test); how many moved."""
        with self._writing(f"the overrides of {student}, now {to}"):
            moved = self.db.execute("update or ignore overrides set student = ? where student = ?",
                                    (to, student)).rowcount
            self.db.execute("delete from overrides where student = ?", (student,))
        return moved

    def clear_override(self, student: str, question: str, test: str) -> bool:
        """Remove a score set by hand; False where there was none."""
        with self._writing(f"the removal of an override of {student}"):
            gone = self.db.execute("delete from overrides where student = ? and question = ? and test = ?",
                                   (student, question, test)).rowcount
        return gone > 0

    def overrides(self, student: str | None = None) -> list[Override]:
        """The scores set by hand, of one student or (None) of all, by student, question and test."""
        where, args = ("where student = ?", (student,)) if student is not None else ("", ())
        rows = self.db.execute(f"select question, test, score, comment, by_whom, at from overrides {where} "
                               "order by student, question, test", args).fetchall()
        return [Override(question=q, test=t, score=float(s), comment=c, by=b, at=a) for q, t, s, c, b, a in rows]

    def override_owners(self) -> list[tuple[str, Override, str | None]]:
        """Every override with its student and when that student's result was last stored (None: no result)."""
        rows = self.db.execute("select o.student, o.question, o.test, o.score, o.comment, o.by_whom, o.at, "
                               "r.stored_at from overrides o left join results r on r.student = o.student "
                               "order by o.student, o.question, o.test").fetchall()
        return [(st, Override(question=q, test=t, score=float(s), comment=c, by=b, at=a), stored)
                for st, q, t, s, c, b, a, stored in rows]

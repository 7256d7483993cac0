"""The gradebook store: one SQLite file per results folder, written as each result is done.

Each result is one transaction, so a batch killed at any moment leaves every
finished result readable and the rest to do; the submission's hash says
whether a stored result is still current.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

from autograder.results import GradingResult

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
)
"""


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.execute("pragma journal_mode=wal")
        self.db.execute(SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def current(self, student: str, sha256: str) -> bool:
        """Whether a finished result for this very file is stored (errors are graded again)."""
        row = self.db.execute("select sha256, status from results where student = ?", (student,)).fetchone()
        return row is not None and row[0] == sha256 and row[1] in ("graded", "rejected")

    def put(self, result: GradingResult, sha256: str) -> None:
        with self.db:
            self.db.execute(
                "insert or replace into results (student, source, sha256, status, score, possible, result) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                (result.student, result.source, sha256, result.status, result.score, result.possible,
                 json.dumps(result.to_dict(), default=str)),
            )

    def results(self) -> list[GradingResult]:
        rows = self.db.execute("select result from results order by student").fetchall()
        return [GradingResult.from_dict(json.loads(r[0])) for r in rows]


def write_gradebook(results: list[GradingResult], path: Path) -> Path:
    """gradebook.csv: a row per student, a column per question, then totals and status."""
    questions = sorted({q.name for r in results for q in r.questions}, key=lambda n: (len(n), n))
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student", *questions, "total", "possible", "percent", "status"])
        for r in sorted(results, key=lambda r: r.student):
            scores = {q.name: q.score for q in r.questions}
            percent = round(100 * r.score / r.possible, 2) if r.possible else 0.0
            out.writerow([r.student, *(f"{scores.get(q, 0):g}" for q in questions), f"{r.score:g}",
                          f"{r.possible:g}", percent, r.status])
    tmp.replace(path)
    return path

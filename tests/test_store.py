"""The gradebook store: each result is kept the moment it is done; a rerun knows what is current."""

import json

from autograder.reports.exports import write_gradebook
from autograder.results import GradingResult, QuestionResult
from autograder.store import Store, file_hash


def result(student, score, status="graded"):
    q = QuestionResult("q1", "one", score, 2, "visible", [])
    return GradingResult(assignment="a9", student=student, source=f"{student}.ipynb", status=status, questions=[q])


def test_results_survive_reopening_and_hashes_decide_what_is_current(tmp_path):
    (tmp_path / "a.ipynb").write_text("one")
    sha = file_hash(tmp_path / "a.ipynb")
    with Store(tmp_path / "gradebook.sqlite") as store:
        store.put(result("alice", 2), sha)
        store.put(result("bob", 0, status="error"), "x")
    with Store(tmp_path / "gradebook.sqlite") as store:
        assert store.current("alice", sha) == ""  # current, graded with no bundle recorded
        assert store.current("alice", "another-hash") is None
        assert store.current("bob", "x") is None  # errors are graded again
        assert store.current("carol", sha) is None
        assert [r.student for r in store.results()] == ["alice", "bob"]
        assert store.results()[0].score == 2


def test_gradebook_csv(tmp_path):
    old, new = result("bob", 1), result("alice", 2)
    old.bundle, new.bundle = "0123456789abcdef", "fedcba9876543210"
    path = write_gradebook([old, new], tmp_path / "gradebook.csv", bundle="fedcba9876543210")
    assert path.read_text().splitlines() == [
        "student,name,q1,raw,automatic_raw,late_penalty,total,possible,percent,status,submitted_at,time_source,"
        "due,extended,reason,bundle,stale,overrides",
        "alice,,2,2,2,0,2,2,100.0,graded,,,,,,fedcba987654,,",
        "bob,,1,1,1,0,1,2,50.0,graded,,,,,,0123456789ab,yes,",
    ]


def test_a_store_written_before_bundles_were_recorded_opens_and_its_results_count_as_stale(tmp_path):
    import sqlite3

    path = tmp_path / "gradebook.sqlite"
    old = sqlite3.connect(path)  # the results table as the first release made it, without the bundle column
    old.execute("create table results (student text primary key, source text not null, sha256 text not null, "
                "status text not null, score real not null, possible real not null, result text not null, "
                "stored_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))")
    old.execute("insert into results (student, source, sha256, status, score, possible, result) values "
                "('alice', 'a.ipynb', 'h', 'graded', 2, 2, ?)", (json.dumps(result("alice", 2).to_dict()),))
    old.commit()
    old.close()
    with Store(path) as store:
        assert store.current("alice", "h") == ""  # kept only with --keep-stale: no bundle matches ''
        assert store.results()[0].bundle == ""

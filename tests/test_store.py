"""The gradebook store: each result is kept the moment it is done; a rerun knows what is current."""

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
        assert store.current("alice", sha)
        assert not store.current("alice", "another-hash")
        assert not store.current("bob", "x")  # errors are graded again
        assert not store.current("carol", sha)
        assert [r.student for r in store.results()] == ["alice", "bob"]
        assert store.results()[0].score == 2


def test_gradebook_csv(tmp_path):
    path = write_gradebook([result("bob", 1), result("alice", 2)], tmp_path / "gradebook.csv")
    assert path.read_text().splitlines() == [
        "student,name,q1,raw,late_penalty,total,possible,percent,status,submitted_at,time_source",
        "alice,,2,2,0,2,2,100.0,graded,,",
        "bob,,1,1,0,1,2,50.0,graded,,",
    ]

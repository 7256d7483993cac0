"""What tests share besides fixtures: the course's paths, the command as a user runs it, small helpers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A small course for testing the grader itself: ``mini`` grades in seconds (see its assignment.yaml).
COURSE = ROOT / "tests" / "course"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dlgrade(*args: str, cwd: Path = ROOT, timeout: float = 1800) -> subprocess.CompletedProcess:
    """The command as a user runs it."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def assert_fails_exactly(result, expected) -> None:
    """A graded example fails the hidden tests ``expected`` lists ("all": every one), and loses just their points."""
    assert result.status == "graded" and result.isolation == "bubblewrap"
    tests = [t for q in result.questions for t in q.tests]
    failed = sorted(f"{t.question}/{t.name}" for t in tests if t.status != "passed")
    if expected == "all":
        assert len(failed) == len(tests), failed
        assert result.score == 0
    else:
        assert failed == expected
        assert result.score == result.possible - sum(t.max_points for t in tests if t.status != "passed")


def context(tmp_path, policy: str = "", thresholds: str = "{min_speedup: 2.0}"):
    """A hidden test's Context for a one-question assignment ``a9`` written under ``tmp_path``."""
    import textwrap

    from autograder import spec as spec_mod
    from autograder.judge.calibration import Calibration
    from autograder.judge.context import Context

    folder = tmp_path / "a9"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.yaml").write_text(textwrap.dedent(f"""
        assignment: a9
        {policy}
        questions:
          q1: {{points: 1, thresholds: {thresholds}}}
        """))
    spec = spec_mod.load(folder)
    return Context(spec, spec.questions["q1"], False, Calibration(), [])


def gradescope_tree(folder: Path, zipped: Path, metadata: dict | None = None) -> Path:
    """Gradescope's /autograder laid out under ``folder``: the zip unpacked into source/ (modes kept), an empty
    submission/, and submission_metadata.json where given; its root."""
    root = folder / "autograder"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(zipped) as z:
        z.extractall(root / "source")
        for info in z.infolist():
            (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


def gradescope_metadata(**user) -> dict:
    """A submission_metadata.json as Gradescope writes it, for Jane Doe unless ``user`` says else."""
    due = "2026-10-02T23:00:00.000000-07:00"
    person = {"email": "jane.doe@example.edu", "id": 1234, "name": "Jane Doe", "sid": "S-1234",
              "assignment": {"due_date": due, "late_due_date": None, "release_date": "2026-09-20T00:00:00-07:00"}}
    person.update(user)
    return {"id": 987654, "created_at": "2026-10-01T14:22:32.365935-07:00",
            "assignment": {"due_date": due, "group_size": None, "group_submission": False, "id": 25828,
                           "course_id": 1234, "late_due_date": None, "release_date": "2026-09-20T00:00:00-07:00",
                           "title": "A1: TensorFlow fundamentals", "total_points": "18.0"},
            "submission_method": "upload", "users": [person], "previous_submissions": []}

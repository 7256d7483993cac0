"""Fixtures shared by the suite: the course root, a built a1, and graded example submissions."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


@pytest.fixture(scope="session")
def a1_bundle():
    from autograder import api

    return api.bundle_for("a1", ROOT)


@pytest.fixture(scope="session")
def mini(tmp_path_factory):
    """The test course's ``mini`` assignment, built in a copy of the course: (course root, bundle)."""
    from autograder import api

    root = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE, root, dirs_exist_ok=True)
    return root, api.bundle_for("mini", root)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``dlgrade demo`` run once: every example of every assignment graded, as a new user first sees it."""
    out = tmp_path_factory.mktemp("demo")
    proc = dlgrade("demo", "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc.stdout


@pytest.fixture(scope="session")
def demo_results(demo_run):
    """The demo's a1 results folder and everything the demo printed."""
    return demo_run[0] / "a1", demo_run[1]


@pytest.fixture(scope="session")
def demo_a2(demo_run):
    return demo_run[0] / "a2", demo_run[1]


@pytest.fixture(scope="session")
def demo_a3(demo_run):
    return demo_run[0] / "a3", demo_run[1]


@pytest.fixture(scope="session")
def a1_expected():
    return yaml.safe_load((ROOT / "assignments" / "a1" / "examples" / "expected.yaml").read_text())


@pytest.fixture(scope="session")
def a2_expected():
    return yaml.safe_load((ROOT / "assignments" / "a2" / "examples" / "expected.yaml").read_text())


@pytest.fixture(scope="session")
def a3_expected():
    return yaml.safe_load((ROOT / "assignments" / "a3" / "examples" / "expected.yaml").read_text())


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

"""Fixtures shared by the suite: the course root, a built a1, and graded example submissions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def dlgrade(*args: str, cwd: Path = ROOT, timeout: float = 1800) -> subprocess.CompletedProcess:
    """The command as a user runs it."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def a1_bundle():
    from autograder import api

    return api.bundle_for("a1", ROOT)


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory):
    """``dlgrade demo`` run once: every a1 example graded, as a new user first sees it."""
    out = tmp_path_factory.mktemp("demo")
    proc = dlgrade("demo", "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out / "a1", proc.stdout


@pytest.fixture(scope="session")
def a1_expected():
    return yaml.safe_load((ROOT / "assignments" / "a1" / "examples" / "expected.yaml").read_text())

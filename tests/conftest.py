"""Fixtures shared by the suite: the course root, a built a1, graded example submissions; the markers' skips.

Markers (``pyproject.toml``): ``bwrap`` needs bubblewrap (skipped, saying why,
where it cannot make a sandbox), ``kernel`` starts real kernels, ``training``
trains TensorFlow models, ``slow`` takes more than a few seconds (the fast
lane is ``pytest -m "not slow"``), ``gpu`` needs an NVIDIA GPU.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from support import COURSE, ROOT, dlgrade


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The one place a missing sandbox or GPU skips tests, with the reason."""
    from autograder import hardware
    from autograder.sandbox.jail import bubblewrap_status

    usable, why = bubblewrap_status()
    no_bwrap = pytest.mark.skip(reason=f"no sandbox here: {why}")
    no_gpu = pytest.mark.skip(reason="no NVIDIA GPU on this machine")
    for item in items:
        if "bwrap" in item.keywords and not usable:
            item.add_marker(no_bwrap)
        if "gpu" in item.keywords and not hardware.has_gpu():
            item.add_marker(no_gpu)


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


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """``dlgrade export gradescope a1 -o FILE`` as an instructor runs it: (the zip, what the command printed)."""
    zipped = tmp_path_factory.mktemp("export") / "autograder.zip"
    proc = dlgrade("export", "gradescope", "a1", "-o", str(zipped))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return zipped, proc.stdout

"""Fixtures of the Gradescope export's tests: a1 exported once, and Gradescope's tree laid out from it."""

from __future__ import annotations

import json
import zipfile

import pytest
from support import dlgrade


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """``dlgrade export gradescope a1 -o FILE`` as an instructor runs it: (the zip, what the command printed)."""
    zipped = tmp_path_factory.mktemp("export") / "autograder.zip"
    proc = dlgrade("export", "gradescope", "a1", "-o", str(zipped))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return zipped, proc.stdout


@pytest.fixture
def make_tree(tmp_path):
    """Lays out Gradescope's /autograder in a tmp folder from a zip (``make_tree(zip, metadata)``); its root."""
    return lambda zipped, metadata=None: _tree(tmp_path, zipped, metadata)


def _tree(folder, zipped, metadata: dict | None = None):
    """The zip unpacked into source/ (modes kept), an empty submission/, and submission_metadata.json where given."""
    root = folder / "autograder"
    (root / "submission").mkdir(parents=True)
    with zipfile.ZipFile(zipped) as z:
        z.extractall(root / "source")
        for info in z.infolist():
            (root / "source" / info.filename).chmod(info.external_attr >> 16 & 0o777)
    if metadata is not None:
        (root / "submission_metadata.json").write_text(json.dumps(metadata))
    return root


@pytest.fixture
def make_metadata():
    """A submission_metadata.json as Gradescope writes it (``make_metadata(**user)``), Jane Doe unless told else."""
    return _metadata


def _metadata(**user) -> dict:
    due = "2026-10-02T23:00:00.000000-07:00"
    person = {"email": "jane.doe@example.edu", "id": 1234, "name": "Jane Doe", "sid": "S-1234",
              "assignment": {"due_date": due, "late_due_date": None, "release_date": "2026-09-20T00:00:00-07:00"}}
    person.update(user)
    return {"id": 987654, "created_at": "2026-10-01T14:22:32.365935-07:00",
            "assignment": {"due_date": due, "group_size": None, "group_submission": False, "id": 25828,
                           "course_id": 1234, "late_due_date": None, "release_date": "2026-09-20T00:00:00-07:00",
                           "title": "A1: TensorFlow fundamentals", "total_points": "18.0"},
            "submission_method": "upload", "users": [person], "previous_submissions": []}


"""Fixtures of the Gradescope export's tests: Gradescope's tree laid out from the exported zip (``exported``,
a session fixture of the suite's: tests/ta grades in that tree too)."""

from __future__ import annotations

import pytest
from support import gradescope_metadata, gradescope_tree


@pytest.fixture
def make_tree(tmp_path):
    """Lays out Gradescope's /autograder in a tmp folder from a zip (``make_tree(zip, metadata)``); its root."""
    return lambda zipped, metadata=None: gradescope_tree(tmp_path, zipped, metadata)


@pytest.fixture
def make_metadata():
    """A submission_metadata.json as Gradescope writes it (``make_metadata(**user)``), Jane Doe unless told else."""
    return gradescope_metadata



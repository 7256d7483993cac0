"""Intake: every notebook Jupyter opens is read as nbformat 4.5; a malformed one gets an error naming what is wrong."""

import json
import os
import stat
import zipfile

import nbformat
import pytest
import saved_as

from autograder import intake
from autograder.errors import IntakeError


def notebook(tmp_path, name="a1.ipynb", source="x = 1"):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def test_a_notebook_under_any_name(tmp_path):
    sub = intake.load(notebook(tmp_path, "a1 (1).ipynb"), "a1.ipynb")
    assert sub.student == "a1_1" and sub.notebook.cells[0].source == "x = 1"


def test_student_id_can_be_given(tmp_path):
    assert intake.load(notebook(tmp_path), "a1.ipynb", student="s123").student == "s123"


def test_otter_export_zip(tmp_path):
    nb = notebook(tmp_path, "a1.ipynb", "y = 2")
    z = tmp_path / "a1_2026_11_27T10_00_00.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(nb, "a1.ipynb")
        zf.writestr("__MACOSX/._a1.ipynb", "junk")
    sub = intake.load(z, "a1.ipynb", student="alice")
    assert sub.notebook.cells[0].source == "y = 2" and sub.submitted_at is not None


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"{not json", "not valid notebook JSON (line 1"),
    (b'{"a": 1}', "not a Jupyter notebook"),
    (json.dumps({"nbformat": 2, "nbformat_minor": 0, "worksheets": [], "metadata": {}}).encode(),
     "nbformat 2 is not a notebook version Jupyter reads"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}).encode(),
     "not a valid nbformat-4.5 notebook at cell 1 (cells/0)"),
])
def test_broken_notebooks(tmp_path, content, words):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(IntakeError) as err:
        intake.load(path, "a1.ipynb")
    assert words in str(err.value) and str(path) in str(err.value)


def test_a_100_mb_notebook_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as f:
        f.truncate(100 * 2**20)
    with pytest.raises(IntakeError, match="100 MB; the limit is 50 MB"):
        intake.load(path, "a1.ipynb")


def test_ten_thousand_cells_are_refused(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1") for _ in range(10_000)])
    path = tmp_path / "many.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(IntakeError, match="10000 cells"):
        intake.load(path, "a1.ipynb")


@pytest.mark.parametrize("member, words", [
    ("../evil.ipynb", "unsafe path"),
    ("/etc/evil.ipynb", "unsafe path"),
    ("dir/../../evil.ipynb", "unsafe path"),
])
def test_zip_with_unsafe_paths(tmp_path, member, words):
    z = tmp_path / "sub.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(member, "{}")
    with pytest.raises(IntakeError, match=words):
        intake.load(z, "a1.ipynb")


def test_zip_with_a_symlink(tmp_path):
    z = tmp_path / "sub.zip"
    info = zipfile.ZipInfo("a1.ipynb")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(IntakeError, match="symbolic link"):
        intake.load(z, "a1.ipynb")


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a1.ipynb", b"0" * (300 * 2**20))
    assert os.path.getsize(z) < 2 * 2**20
    with pytest.raises(IntakeError, match="unpacks to more than"):
        intake.load(z, "a1.ipynb")


def test_zip_without_notebook_or_with_several(tmp_path):
    z = tmp_path / "none.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("notes.txt", "hi")
    with pytest.raises(IntakeError, match="no .ipynb"):
        intake.load(z, "a1.ipynb")
    z2 = tmp_path / "two.zip"
    with zipfile.ZipFile(z2, "w") as zf:
        zf.write(notebook(tmp_path, "x.ipynb"), "x.ipynb")
        zf.write(notebook(tmp_path, "y.ipynb"), "y.ipynb")
    with pytest.raises(IntakeError, match="several notebooks"):
        intake.load(z2, "a1.ipynb")


def test_other_files_are_refused(tmp_path):
    path = tmp_path / "essay.docx"
    path.write_text("hello")
    with pytest.raises(IntakeError, match="expected a .ipynb"):
        intake.load(path, "a1.ipynb")
    with pytest.raises(IntakeError, match="not found"):
        intake.load(tmp_path / "missing.ipynb", "a1.ipynb")


# -- notebooks as each tool saves them -------------------------------------------------------


@pytest.fixture(scope="module")
def a1_solution() -> nbformat.NotebookNode:
    from support import ROOT

    return nbformat.read(ROOT / "assignments" / "a1" / "examples" / "solution.ipynb", 4)


@pytest.mark.parametrize("tool", sorted(saved_as.SAVERS))
def test_every_tools_notebook_is_read_as_the_same_notebook(tmp_path, a1_solution, tool):
    path = tmp_path / "a1.ipynb"
    path.write_bytes(saved_as.SAVERS[tool](a1_solution))
    sub = intake.load(path, "a1.ipynb")
    nb = sub.notebook
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    nbformat.validate(nb)  # what the grader writes into the sandbox is a valid 4.5 notebook
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code == [c.source for c in a1_solution.cells if c.cell_type == "code"]
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    notes = " ".join(sub.notes)
    expected = {"colab": "saved as nbformat 4.0", "vscode": "saved as nbformat 4.2",
                "notebook6": "saved as nbformat 4.4",
                "otter_assign": "saved as nbformat 4.4", "nbformat3": "saved as nbformat 3",
                "bom": "byte-order mark", "duplicate_ids": "made unique", "jupyterlab4": "", "bare_metadata": ""}
    assert expected[tool] in notes
    if tool in ("jupyterlab4", "bare_metadata"):
        assert not sub.notes  # nothing to say about a notebook as Jupyter writes it today


def test_a_cell_a_version_cannot_hold_is_named(tmp_path, a1_solution):
    data = json.loads(saved_as.notebook6(a1_solution))
    data["cells"][2]["outputs"] = [{"output_type": "stream"}]  # no name, no text
    path = tmp_path / "a1.ipynb"
    path.write_text(json.dumps(data))
    with pytest.raises(IntakeError, match=r"not a valid nbformat-4.4 notebook at cell 3 \(cells/2"):
        intake.load(path, "a1.ipynb")


def test_reading_the_same_file_twice_gives_the_same_notebook(tmp_path, a1_solution):
    path = tmp_path / "a1.ipynb"
    path.write_bytes(saved_as.colab(a1_solution))
    assert intake.load(path, "a1.ipynb").notebook == intake.load(path, "a1.ipynb").notebook

"""``dlgrade handout``: the zip a course posts for students, the notebook and the data files it reads."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from support import ROOT, dlgrade

from autograder import spec as spec_mod


def _a2_course(folder):
    """A course holding a2 only, as git holds it: the template's notebook, not its (git-ignored) data file."""
    for part in ("assignments", "solutions", "student_template"):
        shutil.copytree(ROOT / part / "a2", folder / part / "a2")
    (folder / "student_template" / "a2" / "higgs_sample.csv.gz").unlink(missing_ok=True)
    return folder


@pytest.fixture(scope="module")
def handed_out(tmp_path_factory):
    """``dlgrade handout a2`` in a fresh clone's state: (course, what it printed, the zip)."""
    course = _a2_course(tmp_path_factory.mktemp("course"))
    proc = dlgrade("handout", "a2", cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return course, proc.stdout, course / "a2-handout.zip"


def _data_paths(nb: nbformat.NotebookNode) -> set[str]:
    """The paths the notebook reads its data from: the string constants its code gives capitalised names."""
    paths = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper() \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                paths.add(node.value.value)
    return paths


def test_handout_zips_the_notebook_and_every_data_file_it_reads(handed_out):
    course, printed, zipped = handed_out
    assert "built a2 first" in printed and str(zipped) in printed  # the data file was missing: built
    with zipfile.ZipFile(zipped) as z:
        members = z.namelist()
        notebook = z.read("a2.ipynb")
        data = z.read("higgs_sample.csv.gz")
    assert members == ["a2.ipynb", "higgs_sample.csv.gz"]
    assert notebook == (ROOT / "student_template" / "a2" / "a2.ipynb").read_bytes()  # what git holds
    assert data == (course / "dist" / "a2" / "files" / "higgs_sample.csv.gz").read_bytes()
    reads = _data_paths(nbformat.reads(notebook.decode(), 4))
    assert reads == {"higgs_sample.csv.gz"}
    assert reads == {f.name for f in spec_mod.load(ROOT / "assignments" / "a2").files}


def test_handout_holds_nothing_of_the_graders(handed_out):
    course, _, zipped = handed_out
    bundle = course / "dist" / "a2"
    secret = {p.read_bytes() for p in bundle.rglob("*") if p.is_file() and "files" not in p.relative_to(bundle).parts}
    with zipfile.ZipFile(zipped) as z:
        blobs = {name: z.read(name) for name in z.namelist()}
    assert not any(name.endswith((".py", ".yaml", "manifest.json")) or "hidden" in name for name in blobs)
    assert not secret & set(blobs.values())  # no hidden test, spec, reference solution or manifest
    notebook = blobs["a2.ipynb"].decode()
    assert "BEGIN SOLUTION" not in notebook and "# SOLUTION" not in notebook
    for test in (bundle / "hidden").glob("q*.py"):
        names = [n.name for n in ast.parse(test.read_text()).body if isinstance(n, ast.FunctionDef)]
        assert names and not any(f"def {name}(" in notebook for name in names), test.name


def test_the_same_handout_has_the_same_bytes(handed_out, tmp_path):
    course, _, zipped = handed_out
    proc = dlgrade("handout", "a2", "-o", str(tmp_path), cwd=course)  # a folder: the zip goes in it
    assert proc.returncode == 0, proc.stderr
    assert "built" not in proc.stdout  # built and current: nothing to build
    again = tmp_path / "a2-handout.zip"
    assert again.read_bytes() == zipped.read_bytes()
    with zipfile.ZipFile(again) as z:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in z.infolist())


@pytest.mark.slow
def test_the_unzipped_handout_lets_the_notebook_load_its_data(handed_out, tmp_path):
    """The notebook's cells up to its data-loading one run in the unzipped folder and find their data."""
    _, _, zipped = handed_out
    with zipfile.ZipFile(zipped) as z:
        z.extractall(tmp_path)
    nb = nbformat.read(tmp_path / "a2.ipynb", 4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    upto = next(i for i, source in enumerate(code) if "higgs_dataset(DATA)" in source)
    program = "\n\n".join(code[:upto + 1])
    proc = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "25000 events" in proc.stdout


def test_handout_refuses_a_stale_template(tmp_path):
    course = _a2_course(tmp_path / "course")
    nb_path = course / "student_template" / "a2" / "a2.ipynb"
    nb = nbformat.read(nb_path, 4)
    nb.cells[1].source += "\nAn edit made by hand."
    nbformat.write(nb, nb_path)
    proc = dlgrade("handout", "a2", cwd=course)
    assert proc.returncode == 2
    assert "student_template/a2 is stale" in proc.stderr and "run `dlgrade build a2`" in proc.stderr
    assert "a2.ipynb: differs from a fresh build" in proc.stderr and "Traceback" not in proc.stderr
    assert not (course / "a2-handout.zip").exists()


def test_handout_names_an_unknown_assignment(tmp_path):
    proc = dlgrade("--root", str(ROOT), "handout", "a9", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no assignment 'a9'" in proc.stderr and "a1, a2, a3" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())


def test_handout_says_when_it_cannot_write_its_zip(tmp_path):
    (tmp_path / "a-file").write_text("")
    for out, why in [(tmp_path / "no-such-folder" / "a2.zip", "its folder does not exist"),
                     (tmp_path / "a-file" / "a2.zip", "is not a folder")]:
        proc = dlgrade("--root", str(ROOT), "handout", "a2", "-o", str(out), cwd=tmp_path)
        assert proc.returncode == 2
        assert f"cannot write the handout to {out}: " in proc.stderr and why in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]

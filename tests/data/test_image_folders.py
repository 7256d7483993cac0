"""Data folders (``face_pose``, ``digits_folder``): built for students and the grader, placed in every sandbox."""

import os
import shutil
import types
from pathlib import Path

import nbformat
import pytest

from autograder import build as build_mod
from autograder.grading.steps import place_files

SPEC = """\
assignment: a9
files:
  faces: {face_pose: {per_class: 3, size: 16, seed: 1}}
  digits: {digits_folder: {size: 16}}
  notes.txt: {copy: {path: notes.txt}}
questions:
  q1: {points: 1}
"""

HIDDEN = "from autograder.judge import test_case\n@test_case(points=1)\ndef runs(sub, ctx):\n    pass\n"

CONFIG = """\
# ASSIGNMENT CONFIG
name: a9
solutions_pdf: false
template_pdf: false
check_all_cell: false
run_tests: false
export_cell: false
tests:
    files: false
    ok_format: false
"""


def fake_otter_assign(master: Path, out: Path) -> None:
    """What `otter assign` writes that the build reads, without its seconds of start-up (test_cli runs it for real)."""
    nb = nbformat.read(master, as_version=4)
    nb.cells = [c for c in nb.cells if not c.source.startswith("# ASSIGNMENT CONFIG")]
    for part in ("student", "autograder"):
        (out / part).mkdir(parents=True)
        nbformat.write(nb, out / part / master.name)


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course with one tiny assignment, a9, that makes two image folders and copies one file."""
    monkeypatch.setattr(build_mod, "_otter_assign", fake_otter_assign)
    folder = tmp_path / "assignments" / "a9"
    (folder / "hidden").mkdir(parents=True)
    (folder / "assignment.yaml").write_text(SPEC)
    (folder / "hidden" / "q1_runs.py").write_text(HIDDEN)
    (folder / "notes.txt").write_text("read me\n")
    master = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
    master.cells = [nbformat.v4.new_raw_cell(CONFIG), nbformat.v4.new_markdown_cell("# Assignment 9"),
                    nbformat.v4.new_code_cell("import os\nfaces = sorted(os.listdir('faces'))")]
    (tmp_path / "solutions" / "a9").mkdir(parents=True)
    nbformat.write(master, tmp_path / "solutions" / "a9" / "a9.ipynb")
    return tmp_path


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its path there, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


POSES = ["front", "half_left", "half_right", "left", "right"]


def test_build_makes_the_folders_for_students_and_the_grader(course):
    build_mod.build("a9", course)
    template, bundle = course / "student_template" / "a9", course / "dist" / "a9"
    faces, digits = tree(template / "faces"), tree(template / "digits")
    assert sorted(p.name for p in (template / "faces").iterdir()) == POSES
    assert len(faces) == 3 * len(POSES) and all(rel.endswith(".png") for rel in faces)
    assert sorted(p.name for p in (template / "digits").iterdir()) == [str(d) for d in range(10)]
    assert len(digits) == 1797 and all(blob[:8] == b"\x89PNG\r\n\x1a\n" for blob in digits.values())
    assert tree(bundle / "files") == {**{f"faces/{k}": v for k, v in faces.items()},
                                      **{f"digits/{k}": v for k, v in digits.items()}, "notes.txt": b"read me\n"}
    gitignore = (template / ".gitignore").read_text().splitlines()
    assert {"/faces/", "/digits/", "/notes.txt"} <= set(gitignore)
    # Made, never committed: --check ignores all of it, and two builds give the same bytes.
    assert build_mod.build("a9", course, check=True).stale == []
    first = tree(template), tree(bundle)
    build_mod.build("a9", course)
    assert (tree(template), tree(bundle)) == first


def test_a_rebuild_replaces_a_folder_whole_and_check_sees_only_what_is_outside_it(course):
    build_mod.build("a9", course)
    template = course / "student_template" / "a9"
    (template / "faces" / "front" / "extra.png").write_bytes(b"by hand")
    (template / "faces" / "old").mkdir()
    (template / "faces" / "old" / "x.png").write_bytes(b"by hand")
    assert build_mod.build("a9", course, check=True).stale == []  # what is under a made folder is not compared
    (template / "stray.txt").write_text("by hand")
    stale = build_mod.build("a9", course, check=True).stale
    assert stale == [f"{template / 'stray.txt'}: not produced by the build"]
    build_mod.build("a9", course)
    assert not (template / "stray.txt").exists() and not (template / "faces" / "old").exists()
    assert sorted(p.name for p in (template / "faces").iterdir()) == POSES
    assert tree(template / "faces") == {k[len("faces/"):]: v for k, v in tree(course / "dist" / "a9" / "files").items()
                                        if k.startswith("faces/")}


def test_make_data_file_replaces_what_was_at_the_folder(course, tmp_path):
    spec = build_mod.spec_mod.load(course / "assignments" / "a9")
    faces = next(f for f in spec.files if f.name == "faces")
    dest = tmp_path / "out" / "faces"
    dest.mkdir(parents=True)
    (dest / "stale.png").write_bytes(b"old")
    build_mod.make_data_file(faces, dest, spec)
    assert sorted(p.name for p in dest.iterdir()) == POSES
    assert not list(dest.parent.glob(".*"))  # no half-made folder left beside it
    again = tmp_path / "again" / "faces"
    again.parent.mkdir()
    again.write_bytes(b"a file where the folder goes")
    build_mod.make_data_file(faces, again, spec)
    assert tree(again) == tree(dest)


def test_place_files_copies_folders_and_never_follows_links(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "files" / "faces" / "left").mkdir(parents=True)
    (bundle / "files" / "faces" / "left" / "00000.png").write_bytes(b"png")
    (bundle / "files" / "faces" / "empty").mkdir()
    (bundle / "files" / "data.csv").write_text("a,b\n")
    secret = tmp_path / "secret"
    (secret / "inner").mkdir(parents=True)
    (secret / "key.txt").write_text("never copied")
    (bundle / "files" / "faces" / "link.txt").symlink_to(secret / "key.txt")
    (bundle / "files" / "faces" / "linked").symlink_to(secret, target_is_directory=True)
    (bundle / "files" / "top").symlink_to(secret, target_is_directory=True)
    work = tmp_path / "work"
    work.mkdir()
    sandbox = types.SimpleNamespace(workdir=work, uid=os.geteuid())
    place_files(sandbox, bundle / "files")
    assert tree(work) == {"data.csv": b"a,b\n", "faces/left/00000.png": b"png"}
    assert (work / "faces" / "empty").is_dir()
    assert not any(p.is_symlink() for p in work.rglob("*"))
    assert sorted(p.name for p in work.iterdir()) == ["data.csv", "faces"]


def test_place_files_gives_every_file_and_folder_to_the_sandbox_user(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    (bundle / "files" / "digits" / "3").mkdir(parents=True)
    (bundle / "files" / "digits" / "3" / "00001.png").write_bytes(b"png")
    (bundle / "files" / "h.csv").write_text("x\n")
    work = tmp_path / "work"
    work.mkdir()
    chowned = []
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: chowned.append((Path(path), uid, gid)))
    place_files(types.SimpleNamespace(workdir=work, uid=os.geteuid() + 4242), bundle / "files")
    uid = os.geteuid() + 4242
    assert sorted(chowned) == sorted((work / rel, uid, uid) for rel in
                                     ("digits", "digits/3", "digits/3/00001.png", "h.csv"))
    chowned.clear()
    shutil.rmtree(work)
    work.mkdir()
    place_files(types.SimpleNamespace(workdir=work, uid=os.geteuid()), bundle / "files")
    assert chowned == []  # our own uid: nothing to change

"""a3's pieces that need no kernel: the drawn faces, the judge's id-coloured folders, the pose feedback."""

import dataclasses
import importlib.util

import numpy as np
import pytest
from support import ROOT

from autograder import spec as spec_mod
from autograder.checks.images import id_colour, ids_of, write_id_folder
from autograder.data.faces import CLASS_NAMES, POSES, face_pose, write_digits_folder, write_face_folder
from autograder.judge.calibration import Calibration
from autograder.judge.context import Context


def test_faces_are_reproducible_balanced_and_turned_as_labelled():
    x, y, yaw = face_pose(40, 32, seed=5)
    again, y2, _ = face_pose(40, 32, seed=5)
    assert x.dtype == np.uint8 and x.shape == (40, 32, 32, 3)
    assert np.array_equal(x, again) and np.array_equal(y, y2)
    assert not np.array_equal(x, face_pose(40, 32, seed=6)[0])
    assert np.bincount(y, minlength=5).tolist() == [8] * 5
    centre = np.array([POSES[CLASS_NAMES[k]] for k in y])
    assert np.all(np.abs(yaw - centre) <= 8.0)  # neighbouring poses 30 degrees apart never overlap


def test_folders_for_students(tmp_path):
    paths = write_face_folder(tmp_path / "faces", per_class=2, size=16, seed=0)
    assert sorted(p.parent.name for p in paths) == sorted(list(CLASS_NAMES) * 2)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)
    with pytest.raises(ValueError, match="multiple of 8"):
        write_digits_folder(tmp_path / "bad", size=12)


def test_id_colours_survive_png_jpeg_and_resizing(tmp_path):
    from PIL import Image

    where = write_id_folder(tmp_path, {"b": [7, 123], "a": [999]}, 8, jpeg={123})
    assert where == {7: "b", 123: "b", 999: "a"}
    images = []
    for i, name in where.items():
        path = next((tmp_path / name).glob(f"img_{i:03d}.*"))
        with Image.open(path) as im:
            images.append(np.asarray(im.convert("RGB").resize((5, 5)), dtype="float64") / 255.0)
    assert ids_of(np.stack(images)).tolist() == [7, 123, 999]
    assert ids_of(np.zeros((1, 2, 2, 3))).tolist() == [-1]
    with pytest.raises(ValueError):
        id_colour(1000)


def _q6():
    path = next((ROOT / "assignments" / "a3" / "hidden").glob("q6_*.py"))
    module_spec = importlib.util.spec_from_file_location("a3_q6_pieces", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("show", [False, True])
def test_pose_feedback_shows_hidden_faces_only_where_the_spec_says(show):
    spec = spec_mod.load(ROOT / "assignments" / "a3")
    assert spec.questions["q6"].thresholds["show_misclassified"] is False  # off unless an instructor turns it on
    question = dataclasses.replace(spec.questions["q6"],
                                   thresholds={**spec.questions["q6"].thresholds, "show_misclassified": show})
    plots = []
    ctx = Context(spec, question, gpu=False, calibration=Calibration(), plots=plots)
    x, y, _ = face_pose(30, 16, seed=2)
    predicted = y.copy()
    predicted[:4] = (y[:4] + 1) % 5
    _q6()._show_mistakes(ctx, predicted, y, x.astype("float32") / 255.0, 26 / 30, seed=0)
    confusion = [p for p in plots if p.kind == "confusion"]
    assert len(confusion) == 1 and np.trace(np.array(confusion[0].matrix)) == 26
    assert np.array(confusion[0].matrix).sum() == 30
    grids = [p for p in plots if p.kind == "images"]
    if show:
        assert len(grids) == 1 and len(grids[0].images) == 4
        assert grids[0].captions[0] == f"true {CLASS_NAMES[y[0]]}, predicted {CLASS_NAMES[predicted[0]]}"
    else:
        assert not grids

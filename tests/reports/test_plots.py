"""Confusion matrices and image grids: what hidden tests report, kept in results.json and drawn in feedback."""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from autograder import results
from autograder.judge.calibration import Calibration
from autograder.judge.context import Context
from autograder.reports import feedback_html
from autograder.results import GradingResult, Plot, QuestionResult
from autograder.spec import Question

EVIL = "<script>alert(1)</script>"
LABELS = ["left", "front", "right"]
MATRIX = [[5, 1, 0], [2, 7, 1], [0, 0, 9]]


def context() -> Context:
    return Context(None, Question("q1", "Poses", 1, {}), False, Calibration(), [])


def decode(png: str) -> np.ndarray:
    data = base64.b64decode(png)
    assert data.startswith(b"\x89PNG")
    return np.asarray(Image.open(io.BytesIO(data)))


def result(plots: list[Plot]) -> GradingResult:
    q = QuestionResult("q1", "Poses", 1, 1, "visible", [])
    return GradingResult(assignment="a9", student="s1", source="s1.ipynb", status="graded", questions=[q],
                         plots=plots, machine={"cpu": "test cpu", "cores": 2, "gpus": []}, isolation="bubblewrap")


def example_plots() -> list[Plot]:
    ctx = context()
    ctx.confusion("q1 confusion", np.array(MATRIX), LABELS)
    grey = np.linspace(0, 1, 28 * 28).reshape(28, 28)
    rgb = np.zeros((20, 30, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    ctx.images("q1 mistakes", [grey, rgb], ["true left, predicted front", EVIL])
    return ctx._plots


def test_confusion_stores_counts_and_labels():
    ctx = context()
    ctx.confusion("cm", np.array(MATRIX, dtype=np.float32), ["a" * 60, 2, "c"])
    (p,) = ctx._plots
    assert p.kind == "confusion" and p.question == "q1" and p.title == "cm"
    assert p.matrix == MATRIX and all(type(v) is int for row in p.matrix for v in row)
    assert p.labels == ["a" * 40, "2", "c"]


def test_images_store_small_pngs_and_clean_captions():
    ctx = context()
    grey = np.full((28, 28), np.nan)
    grey[0, 0] = 1.0
    big = np.zeros((300, 200, 3), dtype=np.uint8)
    ctx.images("grid", [grey, big, np.ones((8, 8, 1))], ["x" * 100, "two\nlines", 3])
    (p,) = ctx._plots
    assert p.kind == "images" and p.captions == ["x" * 80, "two lines", "3"]
    first, second, third = (decode(png) for png in p.images)
    assert first.shape == (28, 28) and first[0, 0] == 255 and first[1, 1] == 0  # NaN drawn as black
    assert second.shape == (100, 67, 3) and max(second.shape[:2]) <= 128
    assert third.shape == (8, 8) and third.max() == 255
    json.dumps([p.__dict__], allow_nan=False)


def test_old_line_plots_still_read_back():
    p = Plot(**{"question": "q1", "title": "loss", "series": {"loss": [1.0, 0.5]}, "xlabel": "epoch", "ylabel": ""})
    assert p.kind == "line" and p.matrix is None and p.images is None


def test_plots_survive_results_json(tmp_path):
    r = result(example_plots())
    path = tmp_path / "results.json"
    results.write_json(path, r.to_gradescope())
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    again = results.read(path)
    assert again == r
    assert [p.kind for p in again.plots] == ["confusion", "images"]
    assert again.plots[0].matrix == MATRIX and again.plots[1].captions[1] == EVIL


def test_feedback_draws_the_matrix_and_the_grid_and_escapes_captions():
    html = feedback_html(result(example_plots()))
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(pngs) == 2
    for png in pngs:
        assert decode(png).ndim == 3
    assert EVIL not in html and "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # in the grid's alt text, escaped


def test_feedback_draws_long_labels_and_mathtext_characters_as_plain_text():
    ctx = context()
    ctx.confusion("20 classes", np.arange(400).reshape(20, 20), [f"class {i} $\\frac{{$ long name" for i in range(20)])
    ctx.images("32 images", [np.random.default_rng(i).random((8, 8, 3)) for i in range(32)],
               ["true $^_$, predicted $\\frac{$"] * 32)
    html = feedback_html(result(ctx._plots))
    assert html.count("data:image/png;base64,") == 2


@pytest.mark.parametrize("matrix, labels, problem", [
    ([[1, 2, 3], [4, 5, 6]], ["a", "b"], "square"),
    ([[1, 2], [3]], ["a", "b"], "ragged"),
    ([1, 2, 3], ["a", "b", "c"], "square"),
    (MATRIX, ["a", "b"], "2 labels for a 3 x 3 matrix"),
    (np.ones((51, 51), dtype=int), [str(i) for i in range(51)], "at most 50"),
    ([[1, -1], [0, 2]], ["a", "b"], "non-negative"),
    ([[1, np.nan], [0, 2]], ["a", "b"], "NaN"),
    ([[1, 0.5], [0, 2]], ["a", "b"], "whole counts"),
    ([["a", "b"], ["c", "d"]], ["a", "b"], "numbers"),
])
def test_bad_confusion_input_is_named(matrix, labels, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        context().confusion("cm", matrix, labels)


@pytest.mark.parametrize("images, captions, problem", [
    ([np.zeros((8, 8))] * 40, ["c"] * 40, "40 images; at most 32"),
    ([np.zeros((8, 8))] * 2, ["only one"], "1 captions for 2 images"),
    ([np.zeros((8, 8)), np.zeros((4, 5, 7))], ["a", "b"], "image 1 has shape (4, 5, 7)"),
    ([np.zeros((2, 28, 28, 3))], ["a"], "image 0 has shape (2, 28, 28, 3)"),
    ([np.zeros(5)], ["a"], "image 0 has shape (5,)"),
    ([np.zeros((0, 5))], ["a"], "image 0 has shape (0, 5)"),
    ([[[1, 2], [3]]], ["a"], "image 0 is ragged"),
    ([np.array([["a"]])], ["a"], "image 0 must hold numbers"),
    ([], [], "no images"),
])
def test_bad_images_input_is_named(images, captions, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        context().images("grid", images, captions)

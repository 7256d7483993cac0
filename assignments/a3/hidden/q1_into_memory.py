"""q1 — every image of a class folder into memory: shapes, range, labels from sorted folder names, errors."""

import numpy as np

from autograder.checks.images import ids_of, write_id_folder
from autograder.checks.values import array
from autograder.judge import NotDefined, SubmissionError, test_case

# Created in this order on purpose: a loader must sort the names, not trust the file system's order.
CLASSES = ("wolf", "bear", "fox")


def _folder(sub, ctx):
    """The judge's folder, written once per submission: id colours, one JPEG and one grey PNG per class."""
    def make():
        per = ctx.integer("per_class")
        root = sub.data_folder("q1_images")
        classes = {name: list(range(k * 100 + 1, k * 100 + 1 + per)) for k, name in enumerate(CLASSES)}
        jpeg = {ids[1] for ids in classes.values()}
        where = write_id_folder(root, classes, 2 * ctx.integer("image_size"), jpeg=jpeg)
        (root / "bear" / "notes.txt").write_text("not an image: a loader skips it\n")
        return root, where
    return sub.once("q1.folder", make)


def _load(sub, ctx, channels=3):
    root, where = _folder(sub, ctx)
    size = ctx.integer("image_size")
    out = sub.call("load_images", str(root), size, channels=channels)
    assert isinstance(out, list) and len(out) == 3, (
        f"load_images(folder, {size}) should return (x, y, class_names); it returned {type(out).__name__}")
    x, y, names = out
    dtype = getattr(x, "dtype", None)
    x = array(x, "load_images(...)'s x")
    y = array(y, "load_images(...)'s y")
    assert x.shape == (len(where), size, size, channels), (
        f"load_images(folder, {size}, channels={channels}) gives x of shape {x.shape}; the folder has "
        f"{len(where)} images (and one text file to skip), so ({len(where)}, {size}, {size}, {channels})")
    assert y.shape == (len(where),), f"y has shape {y.shape}; expected ({len(where)},)"
    return x, y, names, where, dtype


@test_case(points=1, hint="np.stack of decoded, resized images divided by 255, as float32")
def shapes_dtype_and_range(sub, ctx):
    x, y, _, _, dtype = _load(sub, ctx)
    assert dtype == np.float32, f"x has dtype {dtype}; expected float32"
    assert 0.0 <= x.min() and x.max() <= 1.0, f"pixel values run from {x.min():.3g} to {x.max():.3g}; expected [0, 1]"
    assert x.max() > 0.1, "every pixel is nearly black: were the images divided by 255 twice?"
    assert np.array_equal(y, np.round(y)), "labels must be whole numbers"


@test_case(points=1, hint="class_names = sorted(subfolders); labels index class_names; files sorted in each class")
def labels_follow_sorted_folder_names(sub, ctx):
    x, y, names, where, _ = _load(sub, ctx)
    assert list(names or []) == sorted(CLASSES), (
        f"class_names is {names}; the subfolders are {list(CLASSES)} (created in that order), sorted {sorted(CLASSES)}")
    ids = ids_of(x)
    assert (ids >= 0).all(), "some images do not hold the pixels of any file in the folder"
    got = [names[int(k)] for k in y]
    wrong = [(int(i), g, where[int(i)]) for i, g in zip(ids, got, strict=True) if where.get(int(i)) != g]
    assert not wrong, (f"{len(wrong)} of {len(ids)} images carry another folder's label, e.g. the image from "
                       f"{wrong[0][2]}/ labelled {wrong[0][1]!r}: are images and labels shuffled apart?")
    expected = [i for name in sorted(CLASSES) for i in sorted(k for k, v in where.items() if v == name)]
    assert list(ids) == expected, "images should come class by class, in class_names order, files sorted by name"


@test_case(points=0.5, hint="tf.io.decode_image(..., channels=channels, expand_animations=False)")
def grey_and_rgb(sub, ctx):
    x3 = _load(sub, ctx, channels=3)[0]
    x1 = _load(sub, ctx, channels=1)[0]
    lo, hi = x3.min(axis=3, keepdims=True), x3.max(axis=3, keepdims=True)
    inside = (x1 >= lo - 0.02) & (x1 <= hi + 0.02)
    assert inside.all(), "channels=1 should give each pixel's grey level, between its darkest and brightest channel"
    root = sub.data_folder("q1_grey")
    write_id_folder(root, {"a": [11, 12], "b": [13]}, 4, grey={11, 12, 13})
    grey = array(sub.call("load_images", str(root), 4, channels=3)[0], "load_images of grey files")
    assert grey.shape == (3, 4, 4, 3), (
        f"grey files loaded with channels=3 give shape {grey.shape}; expected (3, 4, 4, 3)")
    assert np.allclose(grey[..., 0], grey[..., 2]), "a grey file loaded as RGB has three equal channels"


@test_case(points=0.5, hint="catch the decode error and raise one that names the file")
def corrupt_file_names_the_file(sub, ctx):
    root = sub.data_folder("q1_corrupt")
    write_id_folder(root, {"good": [1, 2]}, 8)
    (root / "good" / "img_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG" * 3)
    try:
        sub.call("load_images", str(root), 8)
    except NotDefined:
        raise
    except SubmissionError as e:
        assert "img_broken.png" in str(e), f"the error should name the file that cannot be read; it says: {e}"
        return
    raise AssertionError("load_images returned normally for a folder with a corrupt image; it should raise an "
                         "error that names the file")

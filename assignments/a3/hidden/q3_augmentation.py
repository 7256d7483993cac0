"""q3 — augmentation: label, shape, dtype and range kept; seeded; a flip that flips; used in the pipeline."""

import numpy as np

from autograder.checks.values import array
from autograder.data.faces import write_image_folder
from autograder.judge import test_case


def _image(ctx, salt="img"):
    size = ctx.integer("image_size")
    return ctx.rng(salt).uniform(0.0, 1.0, (size, size, 3)).astype("float32")  # the full range: a shift leaves it


def _augment(sub, image, label, seed):
    out = sub.call("augment", image, label, np.array(seed, dtype=np.int64))
    assert isinstance(out, list) and len(out) == 2, (
        f"augment(image, label, seed) should return (image, label); it returned {type(out).__name__}")
    return array(out[0], "augment(...)'s image"), out[1]


@test_case(points=1, hint="clip to [0, 1] after brightness and contrast; return the label untouched")
def keeps_label_shape_dtype_and_range(sub, ctx):
    image = _image(ctx)
    for s in range(ctx.integer("seeds")):
        for label in (0, 3):
            out, got = _augment(sub, image, np.int64(label), [s, 17])
            assert out.shape == image.shape, f"seed [{s}, 17]: the image's shape became {out.shape}, was {image.shape}"
            assert 0.0 <= out.min() and out.max() <= 1.0, (
                f"seed [{s}, 17]: pixel values run from {out.min():.3g} to {out.max():.3g}; "
                "augmentation must keep [0, 1]")
            got = array(got, "augment(...)'s label")
            assert got.shape == () and int(got) == label, (
                f"seed [{s}, 17]: label {label} came back as {got.tolist()}; augmentation must not change the label")
    raw = sub.call("augment", image, np.int64(1), np.array([1, 2], dtype=np.int64))[0]
    assert getattr(raw, "dtype", None) == np.float32, (
        f"the image comes back as {getattr(raw, 'dtype', None)}, not float32")


@test_case(points=1, hint="stateless random ops, seeded from the seed argument (tf.random.split for several)")
def seeded(sub, ctx):
    image = _image(ctx)
    outs = [_augment(sub, image, np.int64(0), [s, 5])[0] for s in range(6)]
    again = _augment(sub, image, np.int64(0), [3, 5])[0]
    assert np.array_equal(outs[3], again), "the same seed gives two different images: use stateless random ops"
    different = {tuple(np.round(o.ravel()[:64], 4)) for o in outs}
    assert len(different) >= 5, f"six seeds give only {len(different)} different images"


@test_case(points=0.5, hint="tf.image.stateless_random_flip_left_right: the image's columns in reverse order")
def a_flip_really_flips(sub, ctx):
    size = ctx.integer("image_size")
    image = np.full((size, size, 3), 0.1, dtype="float32")
    row, col = size // 2, 2
    image[row - 1:row + 2, col:col + 3] = 0.9  # a bright marker near the left edge
    sides = []
    for s in range(ctx.integer("seeds")):
        out, _ = _augment(sub, image, np.int64(0), [s, 99])
        brightness = out.mean(axis=2)
        r, c = np.unravel_index(np.argmax(brightness), brightness.shape)
        sides.append("right" if c >= size // 2 else "left")
        assert abs(int(r) - row) <= size // 4, (
            f"seed [{s}, 99]: a marker at row {row} moved to row {r}: a small rotation moves it a little, "
            "a flip upside down a lot")
    flips = sides.count("right")
    assert 0 < flips < len(sides), (
        f"over {len(sides)} seeds the marker left of centre ended on the right {flips} times: a random horizontal "
        "flip should move it sometimes, not never or always")


@test_case(points=0.5, hint="make_dataset(..., augment_fn=augment) maps augment_fn over (image, label, seed) "
                            "before batching")
def used_in_the_pipeline(sub, ctx):
    root = sub.data_folder("q3_images")
    rng = ctx.rng("pipe")
    images = (rng.uniform(0.1, 0.9, (12, 16, 16, 3)) * 255).astype("uint8")
    labels = np.arange(12) % 2
    write_image_folder(root, images, labels, ["a", "b"])
    plain = sub.call("make_dataset", str(root), 16, batch_size=4, shuffle=False)
    auged = sub.call("make_dataset", str(root), 16, batch_size=4, shuffle=False, seed=5, augment_fn=sub.get("augment"))
    probe = sub.make("epochs")
    (p,), (a,) = sub.call(probe, plain, 1), sub.call(probe, auged, 1)
    xp, xa = array(p["x"], "the plain dataset's images"), array(a["x"], "the augmented dataset's images")
    assert xa.shape == xp.shape, f"augmented batches have shape {xa.shape}; without augmentation {xp.shape}"
    assert not np.allclose(xa, xp, atol=1e-3), "make_dataset(..., augment_fn=augment) yields the images unchanged"
    assert 0.0 <= xa.min() and xa.max() <= 1.0, "augmented images leave [0, 1]"
    assert np.array_equal(array(a["y"], "labels"), array(p["y"], "labels")), (
        "augmentation in the pipeline changed labels")

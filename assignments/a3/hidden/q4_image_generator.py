"""q4 — Keras's (legacy) ImageDataGenerator: right batches, augmentation in training only."""

import numpy as np

from autograder.checks.values import array
from autograder.data.faces import write_image_folder
from autograder.judge import Remote, test_case

CLASSES = ("up", "down")


def _generators(sub, ctx):
    """(train, val, pixels by relative path): textured images, so that a rotation or shift shows."""
    def make():
        per, size = ctx.integer("per_class"), ctx.integer("image_size")
        root = sub.data_folder("q4_images")
        rng = ctx.rng("gen")
        images = rng.integers(0, 256, (2 * per, size, size, 3), dtype=np.uint8)
        labels = np.arange(2 * per) % 2
        paths = write_image_folder(root, images, labels, CLASSES)
        pixels = {f"{p.parent.name}/{p.name}": images[i] for i, p in enumerate(paths)}
        out = sub.call("make_generators", str(root), size, batch_size=ctx.integer("batch_size"), seed=7)
        assert isinstance(out, list) and len(out) == 2 and all(isinstance(g, Remote) for g in out), (
            "make_generators(...) should return (train, val), two iterators from flow_from_directory")
        return out[0], out[1], pixels
    return sub.once("q4.generators", make)


def _batch(sub, gen, index, what):
    out = sub.call(gen.attr("__getitem__"), index)
    assert isinstance(out, list) and len(out) == 2, f"{what}[{index}] should be (images, labels)"
    return array(out[0], f"{what}[{index}]'s images"), array(out[1], f"{what}[{index}]'s labels")


@test_case(points=1, hint="rescale=1/255, class_mode='sparse', subset='training' and 'validation'")
def batches_are_right(sub, ctx):
    train, val, pixels = _generators(sub, ctx)
    size, batch = ctx.integer("image_size"), ctx.integer("batch_size")
    x, y = _batch(sub, train, 0, "train")
    assert x.shape == (batch, size, size, 3), (
        f"train[0] holds images of shape {x.shape}; expected {(batch, size, size, 3)}")
    assert 0.0 <= x.min() and x.max() <= 1.0, (
        f"train[0]'s pixels run from {x.min():.3g} to {x.max():.3g}; rescale to [0, 1]")
    assert y.shape == (batch,) and set(np.unique(y)) <= {0.0, 1.0}, (
        f"train[0]'s labels have shape {y.shape} and values {np.unique(y)[:5]}; "
        "class_mode='sparse' gives one class index each")
    samples = [sub.get(g.attr("samples")) for g in (train, val)]
    assert sum(samples) == len(pixels) and 0 < samples[1] < samples[0], (
        f"train and val hold {samples[0]} and {samples[1]} of the {len(pixels)} images; validation_split should "
        "split them, most for training")
    indices = sub.get(train.attr("class_indices"))
    assert indices == {name: k for k, name in enumerate(sorted(CLASSES))}, f"class_indices is {indices}"


@test_case(points=1, hint="one ImageDataGenerator with the augmentation for training, "
                          "a plain one (rescale only) for validation")
def augments_training_not_validation(sub, ctx):
    train, val, pixels = _generators(sub, ctx)
    a, _ = _batch(sub, train, 0, "train")
    b, _ = _batch(sub, train, 0, "train")
    assert not np.allclose(a, b, atol=1e-6), (
        "train[0] twice gives the same images: the training generator does not augment")
    v1, labels = _batch(sub, val, 0, "val")
    v2, _ = _batch(sub, val, 0, "val")
    assert np.array_equal(v1, v2), "val[0] twice gives different images: validation must not be augmented"
    names = sub.get(val.attr("filenames"))
    assert isinstance(names, list) and len(names) >= len(v1), "val.filenames should list the validation files"
    for k, (name, image, label) in enumerate(zip(names, v1, labels, strict=False)):
        rel = str(name).replace("\\", "/")
        want = pixels.get(rel)
        assert want is not None, f"val.filenames names {name!r}, not a file of the folder"
        assert np.allclose(image, want / 255.0, atol=ctx.number("atol")), (
            f"val[0][{k}] is not {rel} as it is on disk (rescaled to [0, 1]): validation images must not be "
            "shifted, rotated, zoomed or recoloured")
        assert int(label) == sorted(CLASSES).index(rel.split("/")[0]), f"val[0][{k}] has the wrong label"

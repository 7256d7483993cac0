"""q2 — a tf.data pipeline from files: batch shapes, every file once per epoch, reshuffled and reproducible."""

from autograder.checks.images import ids_of, write_id_folder
from autograder.checks.values import array, remote
from autograder.judge import test_case

CLASSES = ("pine", "elm", "ash")


def _folder(sub, ctx):
    def make():
        n = ctx.integer("images")
        root = sub.data_folder("q2_images")
        classes = {name: [i for i in range(n) if i % len(CLASSES) == k] for k, name in enumerate(CLASSES)}
        return root, write_id_folder(root, classes, ctx.integer("image_size"))
    return sub.once("q2.folder", make)


def _epochs(sub, ctx, shuffle=True, seed=None, epochs=2):
    """What ``make_dataset`` yields over ``epochs`` passes of one dataset object: per pass (ids, labels, x, sizes)."""
    root, where = _folder(sub, ctx)
    kwargs = {"batch_size": ctx.integer("batch_size"), "shuffle": shuffle,
              "seed": ctx.integer("seed") if seed is None else seed}
    ds = remote(sub, "make_dataset", str(root), ctx.integer("image_size"), what="a tf.data.Dataset", **kwargs)
    passes = sub.call(sub.make("epochs"), ds, epochs)
    out = []
    for p in passes:
        x = array(p["x"], "the dataset's images")
        size = ctx.integer("image_size")
        assert x.ndim == 4 and x.shape[1:] == (size, size, 3), (
            f"the dataset yields images of shape {x.shape[1:]}; expected ({size}, {size}, 3)")
        out.append((ids_of(x), array(p["y"], "the dataset's labels"), x, [int(s) for s in p["sizes"]]))
    return out, where


@test_case(points=1, hint="batch after map; the last batch holds what is left")
def batches_have_the_right_shapes(sub, ctx):
    (ids, y, x, sizes), = _epochs(sub, ctx, shuffle=False, epochs=1)[0]
    n, batch = ctx.integer("images"), ctx.integer("batch_size")
    want = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    assert sizes == want, f"batch sizes {sizes}; for {n} files in batches of {batch} expected {want}"
    assert 0.0 <= x.min() and x.max() <= 1.0, f"pixel values run from {x.min():.3g} to {x.max():.3g}; expected [0, 1]"
    assert y.shape == (n,), f"labels have shape {y.shape} over a pass; expected one label per image, ({n},)"


@test_case(points=1, hint="shuffle (path, label) pairs together, then decode: a label must travel with its file")
def every_file_once_and_labels_with_their_images(sub, ctx):
    passes, where = _epochs(sub, ctx)
    names = sorted(CLASSES)
    for k, (ids, y, _, _) in enumerate(passes, 1):
        assert (ids >= 0).all(), f"pass {k}: some images hold the pixels of no file in the folder"
        assert sorted(ids) == sorted(where), (
            f"pass {k} yields {len(ids)} images, {len(set(ids))} different, from {len(where)} files: "
            "every file must come exactly once per pass")
        wrong = sum(names[int(label)] != where[int(i)] for i, label in zip(ids, y, strict=False))
        assert not wrong, f"pass {k}: {wrong} of {len(ids)} images carry another class's label"


@test_case(points=1, hint="shuffle(..., seed=seed, reshuffle_each_iteration=True) on the file list")
def reshuffled_each_epoch_and_reproducible(sub, ctx):
    (first, _, _, _), (second, _, _, _) = _epochs(sub, ctx)[0]
    assert list(first) != list(second), (
        "two passes over the same dataset give the same order: shuffle must reshuffle every epoch")
    (again, _, _, _), (again2, _, _, _) = _epochs(sub, ctx)[0]
    assert list(again) == list(first) and list(again2) == list(second), (
        "two datasets made with the same seed give different orders: the seed must make shuffling reproducible")
    (other, _, _, _), = _epochs(sub, ctx, seed=ctx.integer("seed") + 1, epochs=1)[0]
    assert list(other) != list(first), "another seed gives the same order: is the seed passed to shuffle?"

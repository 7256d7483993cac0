"""q5 — a PyDataset with two inputs and two outputs: length, batches, the last partial batch, reshuffling, fit."""

import math

import numpy as np

from autograder.checks.images import id_image, ids_of
from autograder.checks.values import array, remote
from autograder.judge import Remote, test_case


def _data(ctx):
    n, size = ctx.integer("samples"), ctx.integer("image_size")
    ids = np.arange(n)
    images = np.stack([id_image(int(i) + 100, size) for i in ids]).astype("float32") / 255.0
    poses = ids % 5
    yaws = (ids * 2.0 - 50.0).astype("float32")
    scales = (0.5 + ids / (2.0 * n)).astype("float32")
    return images, poses.astype("int64"), yaws, scales


def _loader(sub, ctx, shuffle=True):
    images, poses, yaws, scales = _data(ctx)
    return remote(sub, "PoseLoader", images, poses, yaws, scales, batch_size=ctx.integer("batch_size"),
                  shuffle=shuffle, seed=3, what="a PoseLoader")


def _epoch(sub, ctx, loader):
    """Every batch of one epoch, checked and joined: ids, poses, yaws, scales, batch sizes."""
    size = ctx.integer("image_size")
    count = sub.call(loader.attr("__len__"))
    assert isinstance(count, int), f"len(loader) returned {type(count).__name__}"
    rows = {"ids": [], "pose": [], "yaw": [], "scale": [], "sizes": []}
    for i in range(count):
        batch = sub.call(loader.attr("__getitem__"), i)
        assert isinstance(batch, list) and len(batch) == 2 and all(isinstance(b, dict) for b in batch), (
            f"loader[{i}] should be ({{'image': ..., 'scale': ...}}, {{'pose': ..., 'yaw': ...}})")
        inputs, targets = batch
        assert set(inputs) == {"image", "scale"} and set(targets) == {"pose", "yaw"}, (
            f"loader[{i}] has inputs {sorted(inputs)} and outputs {sorted(targets)}; "
            "expected image, scale -> pose, yaw")
        image = array(inputs["image"], f"loader[{i}]['image']")
        b = len(image)
        shapes = {"image": (b, size, size, 3), "scale": (b, 1), "pose": (b,), "yaw": (b, 1)}
        for key, value in {**inputs, **targets}.items():
            got = np.shape(value)
            assert got == shapes[key], f"loader[{i}]['{key}'] has shape {got}; expected {shapes[key]}"
        dtypes = {"image": "f", "scale": "f", "pose": "iu", "yaw": "f"}
        for key, value in {**inputs, **targets}.items():
            kind = getattr(value, "dtype", np.dtype("O")).kind
            assert kind in dtypes[key], f"loader[{i}]['{key}'] has dtype {getattr(value, 'dtype', '?')}"
        rows["ids"] += list(ids_of(image) - 100)
        rows["pose"] += list(np.asarray(targets["pose"]).ravel())
        rows["yaw"] += list(np.asarray(targets["yaw"]).ravel())
        rows["scale"] += list(np.asarray(inputs["scale"]).ravel())
        rows["sizes"].append(b)
    return rows


@test_case(points=1, hint="len = ceil(n / batch_size); the last batch holds the rest")
def length_and_batch_shapes(sub, ctx):
    n, batch = ctx.integer("samples"), ctx.integer("batch_size")
    rows = _epoch(sub, ctx, _loader(sub, ctx, shuffle=False))
    want = [batch] * (n // batch) + ([n % batch] if n % batch else [])
    assert len(rows["sizes"]) == math.ceil(n / batch), (
        f"len(loader) is {len(rows['sizes'])} for {n} samples in batches of {batch}; expected {math.ceil(n / batch)} "
        "(the last batch is smaller, not dropped)")
    assert rows["sizes"] == want, f"batch sizes {rows['sizes']}; expected {want}"


@test_case(points=1, hint="on_epoch_end draws a new permutation; __getitem__ indexes every array with the same rows")
def every_sample_once_together_and_reshuffled(sub, ctx):
    images, poses, yaws, scales = _data(ctx)
    loader = _loader(sub, ctx)
    first = _epoch(sub, ctx, loader)
    ids = np.asarray(first["ids"])
    assert sorted(ids) == list(range(len(images))), (
        f"one epoch yields {len(ids)} samples, {len(set(ids))} different, of {len(images)}: "
        "every sample once per epoch")
    for key, column in (("pose", poses), ("yaw", yaws), ("scale", scales)):
        assert np.allclose(np.asarray(first[key], dtype=float), column[ids], atol=1e-5), (
            f"'{key}' does not belong to the image beside it: index every array with the same rows")
    sub.call(loader.attr("on_epoch_end"))
    second = np.asarray(_epoch(sub, ctx, loader)["ids"])
    assert sorted(second) == sorted(ids), "after on_epoch_end an epoch no longer holds every sample once"
    assert list(second) != list(ids), "after on_epoch_end the order is the same: shuffle there"


@test_case(points=1, hint="a PyDataset works with model.fit as it is; pass **kwargs on to super().__init__")
def fits_a_two_head_model(sub, ctx):
    model = sub.make("two_head", image_shape=[ctx.integer("image_size")] * 2 + [3], num_classes=5)
    history = sub.call(model.attr("fit"), _loader(sub, ctx), epochs=2, verbose=0)
    assert isinstance(history, Remote), "model.fit(loader) did not return a History"
    logs = sub.get(history.attr("history"))
    assert isinstance(logs, dict), "model.fit(loader) did not log any losses"
    for key in ("loss", "pose_loss", "yaw_loss"):
        values = logs.get(key)
        assert isinstance(values, list) and len(values) == 2 and all(np.isfinite(v) for v in values), (
            f"model.fit(loader, epochs=2) logged {key} = {values}; expected two finite values")

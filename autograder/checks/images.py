"""Image folders the judge writes to test loaders, each image's identity in its colour.

Image ``i`` is one flat colour whose red, green and blue levels spell ``i``'s
three decimal digits (40 + 20 * digit), so any loader's output can be traced
back to the file it came from, whatever it resized, batched or shuffled,
and even after lossy JPEG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from autograder.data.faces import encode_jpeg, encode_png

MAX_ID = 999


def id_colour(i: int) -> np.ndarray:
    """The RGB colour (uint8, shape (3,)) that names image ``i``; ValueError outside 0..999."""
    if not 0 <= i <= MAX_ID:
        raise ValueError(f"image ids run from 0 to {MAX_ID}; got {i}")
    return np.array([40 + 20 * (i % 10), 40 + 20 * (i // 10 % 10), 40 + 20 * (i // 100)], dtype=np.uint8)


def id_image(i: int, size: int) -> np.ndarray:
    """A ``size`` x ``size`` RGB image (uint8) of image ``i``'s colour."""
    return np.broadcast_to(id_colour(i), (size, size, 3)).copy()


def ids_of(x: np.ndarray) -> np.ndarray:
    """The ids of a batch of RGB images in [0, 1] (n, h, w, 3); -1 where an image is no id colour."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise AssertionError(f"expected RGB images of shape (n, h, w, 3); got shape {x.shape}")
    levels = (x.mean(axis=(1, 2)) * 255.0 - 40.0) / 20.0
    digits = np.rint(levels)
    ok = (np.abs(levels - digits) < 0.35).all(axis=1) & (digits >= 0).all(axis=1) & (digits <= 9).all(axis=1)
    ids = (digits[:, 0] + 10 * digits[:, 1] + 100 * digits[:, 2]).astype(int)
    return np.where(ok, ids, -1)


def write_id_folder(root: Path, classes: dict[str, list[int]], size: int, jpeg: frozenset[int] | set[int] = frozenset(),
                    grey: frozenset[int] | set[int] = frozenset()) -> dict[int, str]:
    """``root/<class>/img_<id>.png`` (``.jpg`` for ids in ``jpeg``, one grey level for ids in ``grey``).

    Classes are created in the order given, which need not be sorted; returns id -> class name.
    """
    where = {}
    for name, ids in classes.items():
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in ids:
            image = id_image(i, size)
            if i in grey:
                image = image[..., 0]
            data = encode_jpeg(image, quality=98) if i in jpeg else encode_png(image)
            (folder / f"img_{i:03d}.{'jpg' if i in jpeg else 'png'}").write_bytes(data)
            where[i] = name
    return where

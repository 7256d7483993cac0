"""Drawn faces turned to one of five poses, and image folders in the layout Keras expects.

Each face is rendered per pixel on an ellipsoid head: a pixel's place on the
head gives its longitude and latitude in the face's own frame, and eyes,
eyebrows, nose, mouth, ears and hair are regions in that frame. Turning the
head (yaw) moves the features across the image and hides those round the
back, so which way a head is turned shows only in where the features are
relative to the outline: a task for a small CNN, not for a threshold on
pixel values. Size, position, tilt, skin, hair, lighting, background and
noise vary at random, so augmentation helps.

``face_pose(n, size, seed)`` gives arrays; ``write_image_folder`` and
``write_face_folder`` / ``write_digits_folder`` give the on-disk layout
students load (one subfolder per class, PNG files). The same arguments
always give the same pixels and the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

#: Class names in sorted order (what a loader that sorts folder names finds), with the head's yaw in degrees:
#: negative turns the face towards the image's left.
POSES = {"front": 0.0, "half_left": -30.0, "half_right": 30.0, "left": -60.0, "right": 60.0}
CLASS_NAMES = tuple(sorted(POSES))
YAW_JITTER = 8.0  # degrees either side of a pose's yaw; neighbouring poses stay 14 degrees apart


def _ellipse(phi, lam, centre, half_w, half_h):
    return ((phi - centre[0]) / half_w) ** 2 + ((lam - centre[1]) / half_h) ** 2 <= 1.0


def draw_face(yaw_deg: float, size: int, rng: np.random.Generator, supersample: int = 2) -> np.ndarray:
    """One RGB face, ``uint8`` of shape ``(size, size, 3)``, its head turned by ``yaw_deg``."""
    n = size * supersample
    v, u = (np.mgrid[0:n, 0:n] + 0.5) / n * 2.0 - 1.0  # image coordinates in [-1, 1], v down
    # The head: where, how big, how tilted.
    cx, cy = rng.uniform(-0.18, 0.18, size=2)
    radius = rng.uniform(0.48, 0.72)
    half_w, half_h = radius * rng.uniform(0.78, 0.9), radius
    tilt = np.radians(rng.uniform(-12, 12))
    du, dv = u - cx, v - cy
    x = (np.cos(tilt) * du + np.sin(tilt) * dv) / half_w
    y = (-np.sin(tilt) * du + np.cos(tilt) * dv) / half_h
    r2 = x ** 2 + y ** 2
    head = r2 <= 1.0
    z = np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
    yaw = np.radians(yaw_deg)
    phi = np.arctan2(x, z) - yaw  # longitude in the face's frame: 0 is the middle of the face
    lam = np.arcsin(np.clip(y, -1.0, 1.0))  # latitude: negative is up

    # Lighting: a random direction, Lambertian on the sphere's normal (x, y, z) plus ambient.
    light = rng.normal(size=3) * np.array([1.0, 1.0, 0.4]) + np.array([0.0, -0.3, 1.2])
    light /= np.linalg.norm(light)
    shade = 0.45 + 0.55 * np.clip(x * light[0] + y * light[1] + z * light[2], 0.0, 1.0)

    skin = rng.uniform(0.35, 1.0) * np.array([1.0, 0.78, 0.62]) + rng.normal(scale=0.04, size=3)
    hair_colour = rng.uniform(0.0, 0.45) * np.array([1.0, rng.uniform(0.7, 1.0), rng.uniform(0.5, 1.0)])
    dark = np.array([0.08, 0.06, 0.05])
    img = np.empty((n, n, 3))
    # Background: a colour with a gradient across the image.
    base = rng.uniform(0.15, 0.95, size=3)
    slope = rng.normal(scale=0.15, size=(2, 3))
    img[:] = base + u[..., None] * slope[0] + v[..., None] * slope[1]

    face = np.where(head[..., None], skin * shade[..., None], img)
    hairline = rng.uniform(-0.75, -0.45)
    hair = head & ((lam < hairline) | (np.abs(phi) > rng.uniform(1.75, 2.1)))
    ears = head & ~hair & (_ellipse(np.abs(phi), lam, (1.57, 0.05), 0.16, 0.28))
    eyes = head & (_ellipse(np.abs(phi), lam, (0.42, -0.18), 0.16, 0.09))
    brows = head & (_ellipse(np.abs(phi), lam, (0.42, -0.38), 0.22, 0.045))
    nose = head & _ellipse(phi, lam, (0.0, 0.08), 0.09, 0.16)
    mouth = head & _ellipse(phi, lam, (0.0, 0.42), 0.3, 0.07)
    visible = np.abs(phi) < np.pi / 2 + 0.2  # features round the back of the head are hidden
    face[ears] = skin * 0.75 * shade[ears][:, None]
    face[nose & visible] = skin * 0.62 * shade[nose & visible][:, None]
    face[mouth & visible] = np.array([0.55, 0.15, 0.15]) * shade[mouth & visible][:, None]
    face[brows & visible] = hair_colour * 0.8
    face[eyes & visible] = dark
    face[hair] = hair_colour * shade[hair][:, None]
    img = face

    img = img.reshape(size, supersample, size, supersample, 3).mean(axis=(1, 3))  # anti-aliasing
    img = img + rng.normal(scale=rng.uniform(0.0, 0.06), size=img.shape)
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def face_pose(n: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` faces: ``(images uint8 (n, size, size, 3), labels int64 indexing CLASS_NAMES, yaw in degrees)``.

    Classes are balanced (cycled) then shuffled; the seed decides everything.
    """
    if n < 0 or size < 8:
        raise ValueError(f"face_pose needs n >= 0 and size >= 8; got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype("int64")
    yaws = np.array([POSES[CLASS_NAMES[k]] for k in labels]) + rng.uniform(-YAW_JITTER, YAW_JITTER, size=n)
    images = np.stack([draw_face(a, size, rng) for a in yaws]) if n else np.zeros((0, size, size, 3), np.uint8)
    return images, labels, yaws.astype("float32")


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image, (h, w) grey or (h, w, 3) RGB; no time stamp, so the same image same bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """An image (uint8, grey or RGB) as JPEG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def write_image_folder(root: Path, images: np.ndarray, labels: np.ndarray, class_names, fmt: str = "png",
                       names: list[str] | None = None) -> list[Path]:
    """One subfolder per class (every class, even an empty one), one file per image; returns the paths in order."""
    root = Path(root)
    encode = {"png": encode_png, "jpg": encode_jpeg, "jpeg": encode_jpeg}[fmt]
    for name in class_names:
        (root / name).mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        stem = names[i] if names else f"{i:05d}"
        path = root / class_names[int(label)] / f"{stem}.{fmt}"
        path.write_bytes(encode(image))
        paths.append(path)
    return paths


def write_face_folder(root: Path, per_class: int = 200, size: int = 64, seed: int = 0) -> list[Path]:
    """The face-pose data set as students get it: ``root/<pose>/NNNNN.png``."""
    images, labels, _ = face_pose(per_class * len(CLASS_NAMES), size, seed)
    return write_image_folder(root, images, labels, CLASS_NAMES)


def write_digits_folder(root: Path, size: int = 32) -> list[Path]:
    """scikit-learn's bundled digits as a grey PNG folder, ``root/<digit>/NNNNN.png``, scaled up to ``size``."""
    from autograder.data import digits_arrays

    if size % 8:
        raise ValueError(f"the digits are 8x8: size must be a multiple of 8, got {size}")
    digits, target = digits_arrays()
    scale = size // 8
    images = np.kron(digits / 16.0, np.ones((scale, scale)))  # nearest-neighbour, no blur
    images = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    return write_image_folder(root, images, target, [str(d) for d in range(10)])

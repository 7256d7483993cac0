"""q7 — the q2 pipeline's speed against a naive Python loop over the same files, timed side by side.

The naive loop reads, decodes and resizes each file with TensorFlow's own ops,
one at a time (``kernel_agent._image_loop``), in a clean kernel of its own
(nothing of the submission's has run there, so a patched ``tf.image.resize``
cannot slow it) while the submission is frozen. Every pass of the student's
pipeline reads a folder of images it has never seen (the judge's faces with
fresh noise), and each image it yields comes back as its dot product with a
random vector the grader draws for that pass, checked against the files'
pixels: a loader that remembers an earlier pass fails. Both are timed on the
grader's clock. A pipeline that decodes in
``map`` runs the same ops without Python between them; on a kernel with one
core to itself (a batch of two workers on two cores) that, not parallelism,
is most of its lead. Against a Pillow loop it would be about 1x there, too
close to call (benchmarks/RESULTS.md).
"""

import functools
import itertools

import numpy as np

from autograder.checks.values import array, remote
from autograder.data.faces import CLASS_NAMES, face_pose, write_image_folder
from autograder.judge import test_case


@functools.lru_cache(maxsize=1)
def _faces(n: int, size: int):
    return face_pose(n, size, seed=4242)[:2]  # drawn once per grader process, written once per submission


def _folder(sub, ctx):
    def make():
        root = sub.data_folder("q7_images")
        write_image_folder(root, *_faces(ctx.integer("images"), ctx.integer("image_size")), CLASS_NAMES)
        return root
    return sub.once("q7.folder", make)


@test_case(points=2, hint="map(decode, num_parallel_calls=tf.data.AUTOTUNE) over file names, batch, prefetch")
def pipeline_beats_a_python_loop(sub, ctx):
    root = _folder(sub, ctx)
    size, n = ctx.integer("image_size"), ctx.integer("images")
    # The whole cost from files to batches: a loader that decodes everything while the dataset is made
    # (a Python loop, then from_tensor_slices) pays it there, not in the pass.
    kwargs = dict(batch_size=ctx.integer("batch_size"), shuffle=False)
    make_dataset = sub.get("make_dataset")
    remote(sub, "make_dataset", str(root), size, what="a tf.data.Dataset", **kwargs)
    made = sub.make("make_and_project")
    images, labels = _faces(n, size)
    rng, passes = ctx.fresh_rng("fresh"), itertools.count()

    def one_pass(folder, pixels):
        """A pass of make_dataset over ``folder`` on the grader's clock, its images checked to be those files."""
        projection = rng.standard_normal(size * size * 3)
        got, seconds = sub.clocked(made, make_dataset, projection, str(folder), size, **kwargs)
        got = np.sort(array(got, f"a pass of make_dataset over {n} files").ravel())
        assert got.size == n, f"a pass of make_dataset over {n} files yields {got.size} images"
        want = np.sort(pixels.reshape(n, -1).astype("float64") / 255.0 @ projection)
        wrong = int(np.sum(~np.isclose(got, want, rtol=0, atol=ctx.number("pixel_atol"))))
        assert wrong == 0, (
            f"a pass of make_dataset over {n} files yields {wrong} images that are not those files' pixels (as "
            "floats in [0, 1], at their own size): a loader must read the folder it is given, not remember another")
        return seconds

    one_pass(root, images)
    peer = sub.clean_peer()  # the baseline's own kernel: nothing of the submission's runs there
    baseline = peer.data_folder("q7_images")
    write_image_folder(baseline, images, labels, CLASS_NAMES)
    loop = peer.make("image_loop")

    def fresh_pass():
        """A pass over a folder of the faces with new noise: nothing of an earlier pass is of use."""
        folder = sub.data_folder(f"q7_pass_{next(passes)}")
        noisy = np.clip(images.astype("int16") + rng.integers(-3, 4, images.shape), 0, 255).astype("uint8")
        write_image_folder(folder, noisy, labels, CLASS_NAMES)
        return one_pass(folder, noisy)

    def speedup(attempt):
        # Side by side, alternating, best of each: the machine's noise hits both alike.
        pipeline, naive = [], []
        for _ in range(ctx.integer("repeats")):
            pipeline.append(fresh_pass())
            with sub.frozen():
                naive.append(peer.clocked(loop, str(baseline), size)[1])
        ctx.note(f"attempt {attempt}: {n} images of {size}x{size}, made into a dataset and read once: your pipeline "
                 f"{n / min(pipeline):,.0f} images/s, a naive Python loop {n / min(naive):,.0f} images/s "
                 f"(best of {len(naive)} passes each)")
        return min(naive) / min(pipeline)

    ctx.speed("your pipeline's images per second over a naive Python loop's", speedup, "min_speedup",
              advice="decode inside the pipeline with a parallel map, and prefetch")

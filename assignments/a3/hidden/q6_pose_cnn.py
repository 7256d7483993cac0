"""q6 — a CNN for face pose: small and convolutional; accuracy on faces the submission never sees, over seeds."""

import functools
import statistics

import numpy as np

from autograder.checks.seeds import (
    assert_a_model_of_its_own,
    jittered,
    judge_training_time,
    kernel_datasets,
    seeds_note,
    train_over_seeds,
)
from autograder.checks.values import array, remote
from autograder.data.faces import CLASS_NAMES, face_pose
from autograder.judge import Remote, reference_figure, test_case


@functools.lru_cache(maxsize=2)
def _faces(n: int, size: int, seed: int):
    images, labels, _ = face_pose(n, size, seed)
    return images.astype("float32") / 255.0, labels


def faces(thresholds):
    """``(train x, y), (val x, y), (eval x, y)``: the judge's own faces, drawn from ``data_seed``."""
    sizes = [int(thresholds[k]) for k in ("train_rows", "val_rows", "eval_rows")]
    x, y = _faces(sum(sizes), int(thresholds["image_size"]), int(thresholds["data_seed"]))
    cut = np.cumsum(sizes)
    return (x[:cut[0]], y[:cut[0]]), (x[cut[0]:cut[1]], y[cut[0]:cut[1]]), (x[cut[1]:], y[cut[1]:])


def datasets(handle, thresholds, seed):
    """Training and validation batches built inside the kernel, from values never sent before (``jittered``);
    the evaluation labels stay here."""
    (x_train, y_train), val, _ = faces(thresholds)
    return kernel_datasets(handle, (jittered(x_train, seed), y_train), val, int(thresholds["batch_size"]), seed)


@reference_figure("q6.train_pose_seconds")
def reference_training_time(ref, thresholds):
    """The reference solution's training time on this machine, measured at the start of a batch."""
    train, val = datasets(ref, thresholds, seed=0)
    _, _, (x_eval, _) = faces(thresholds)
    return ref.timed("train_pose_model", train, val, n=1, warmup=0,
                     then=("predict", (x_eval,), {"verbose": 0})).per_call


@test_case(points=1, hint="Conv2D and pooling blocks, a small Dense layer, softmax over the classes")
def cnn_is_small_and_convolutional(sub, ctx):
    size, cap = ctx.integer("image_size"), ctx.integer("max_params")
    model = remote(sub, "build_cnn", (size, size, 3), len(CLASS_NAMES))
    params = sub.call(model.attr("count_params"))
    assert isinstance(params, int) and params <= cap, f"build_cnn has {params:,} parameters; at most {cap:,}"
    # Every layer, inside nested blocks too (a conv block written as a Sequential of its own counts).
    kinds = sub.call(sub.make("layer_kinds"), model)
    assert isinstance(kinds, list) and any("Conv" in str(k) for k in kinds), (
        f"build_cnn's layers are {kinds}: a CNN has convolution layers")
    x = ctx.rng("cnn").uniform(0, 1, (4, size, size, 3)).astype("float32")
    p = array(sub.predict(model, x), "build_cnn(...).predict")
    assert p.shape == (4, len(CLASS_NAMES)), (
        f"predict gives shape {p.shape} for 4 images; expected (4, {len(CLASS_NAMES)})")
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-3) and (p >= 0).all(), (
        "the outputs are not probabilities: end with a softmax over the classes")


def _within_the_cap(sub, ctx, model, what: str) -> None:
    cap = ctx.integer("max_params")
    params = sub.call(model.attr("count_params"))
    assert isinstance(params, int) and params <= cap, (
        f"{what} has {params:,} parameters, over the cap of {cap:,}: its accuracy and training time cannot count")


def _trainings(sub, ctx):
    """Train per the spec's seed policy (stopping once the verdicts are decided): accuracy and seconds per seed.

    Only a CNN within the parameter cap is trained and judged: a larger one
    would buy accuracy the question does not allow (and costs a training).
    """
    def run():
        thresholds = ctx.question.thresholds
        size = ctx.integer("image_size")
        _within_the_cap(sub, ctx, remote(sub, "build_cnn", (size, size, 3), len(CLASS_NAMES)), "build_cnn")
        _, _, (x_eval, y_eval) = faces(thresholds)
        predictions, probabilities = {}, {}

        def train(seed):
            sub.seed(seed)
            train_ds, val_ds = datasets(sub, thresholds, seed)
            timing = sub.timed("train_pose_model", train_ds, val_ds, n=1, warmup=0,
                               then=("predict", (x_eval,), {"verbose": 0}))
            model, p = timing.value
            assert isinstance(model, Remote), "train_pose_model(train_ds, val_ds) should return the trained model"
            _within_the_cap(sub, ctx, model, "the model train_pose_model trained")
            p = array(p, "the trained model's predict")
            assert p.shape == (len(x_eval), len(CLASS_NAMES)), (
                f"the trained model's predict gives shape {p.shape} for {len(x_eval)} faces; expected "
                f"({len(x_eval)}, {len(CLASS_NAMES)}): one probability per pose")
            assert np.isfinite(p).all(), "the trained model predicts NaN or inf (did the training diverge?)"
            assert_a_model_of_its_own(probabilities, seed, p, "train_pose_model")
            predictions[seed] = p.argmax(axis=1)
            return float(np.mean(predictions[seed] == y_eval)), timing.per_call

        scores, seconds = train_over_seeds(ctx, train, "min_accuracy", reference_key="q6.train_pose_seconds")
        return scores, seconds, predictions

    return sub.once("q6.train", run)


def _show_mistakes(ctx, predicted, y_eval, x_eval, accuracy, seed):
    k = len(CLASS_NAMES)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (y_eval, predicted), 1)
    ctx.confusion(f"Hidden faces, seed {seed}: accuracy {accuracy:.3f}",
                  matrix, list(CLASS_NAMES))
    if ctx.threshold("show_misclassified"):
        wrong = np.flatnonzero(predicted != y_eval)[:24]
        if len(wrong):
            ctx.images(f"Hidden faces your model got wrong (seed {seed})", x_eval[wrong],
                       [f"true {CLASS_NAMES[y_eval[i]]}, predicted {CLASS_NAMES[predicted[i]]}" for i in wrong])


@test_case(points=3, hint="three Conv2D/MaxPooling2D blocks, Adam, sparse categorical cross-entropy, about six epochs")
def accuracy_on_hidden_faces(sub, ctx):
    accuracies, _, predictions = _trainings(sub, ctx)
    accuracy = statistics.median(accuracies)
    seed = ctx.integers("seeds")[int(np.argsort(accuracies)[(len(accuracies) - 1) // 2])]
    _, _, (x_eval, y_eval) = faces(ctx.question.thresholds)
    _show_mistakes(ctx, predictions[seed], y_eval, x_eval, accuracies[ctx.integers("seeds").index(seed)], seed)
    ctx.note(f"accuracy per seed: {[round(a, 3) for a in accuracies]}, {seeds_note(ctx, len(accuracies))}; median "
             f"{accuracy:.3f} (needed {ctx.number('min_accuracy')})")
    assert accuracy >= ctx.number("min_accuracy"), (
        f"median accuracy on unseen faces is {accuracy:.3f}; the threshold is {ctx.number('min_accuracy')}")


@test_case(points=1, hint="training should take about as long as a small CNN for six epochs")
def training_time_is_reasonable(sub, ctx):
    _, seconds, _ = _trainings(sub, ctx)
    judge_training_time(ctx, seconds, "q6.train_pose_seconds")

"""q7 — TensorBoard logs, read by the grader from the event files themselves, and held to the model they describe.

Event files are parsed in the grader (``checks.tensorboard``), never by the
submission's code. A log written with ``tf.summary`` alone, without training,
fails: the model must have changed, it must predict what its weights say (a
NumPy forward pass), and the last epoch's logged loss must be that model's
cross-entropy on the data it was fitted on, within ``loss_rtol`` (Keras logs
the mean over the epoch's batches, a little above the loss at its end).
"""

import math

import numpy as np

from autograder.checks.models import mlp_forward
from autograder.checks.tensorboard import scalars
from autograder.checks.values import array
from autograder.judge import test_case

LOGDIR = "logs/q7"
#: What the grader reads of the training's event files, all together: a few epochs' logs take kilobytes.
LOG_BYTES = 16 * 2**20
SHAPE, CLASSES = (8, 8), 10


def _cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy, with Keras's clipping of probabilities (epsilon 1e-7)."""
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1 - 1e-7)
    return float(-np.log(picked).mean())


def _logs(sub, ctx):
    def run():
        epochs = ctx.integer("epochs")
        rng = ctx.rng("tb")
        x = rng.uniform(0, 1, (256, *SHAPE)).astype("float32")
        y = rng.integers(0, CLASSES, 256)
        model = sub.make("mlp", input_shape=list(SHAPE), num_classes=CLASSES, seed=1)
        # Its predictions before training, from its weights (the probe's MLP, in NumPy): no second predict to trace.
        before = mlp_forward(x, [np.asarray(w) for w in sub.call(model.attr("get_weights"))])
        sub.call("train_with_tensorboard", model, x, y, LOGDIR, epochs)
        files = [f for f in sub.files(LOGDIR) if "tfevents" in f.rsplit("/", 1)[-1]]
        losses, left = {}, LOG_BYTES
        for f in sorted(f for f in files if "/validation/" not in f"/{f}"):
            data = sub.file(f, max_bytes=left)  # all the training's logs within one budget, however many files
            left -= len(data)
            for tag, points in scalars(data).items():
                if tag == "epoch_loss":
                    losses.setdefault(f, []).extend(points)
        weights = [np.asarray(w) for w in sub.call(model.attr("get_weights"))]
        after = array(sub.predict(model, x), "the model's predict after training")
        return files, losses, epochs, (x, y, before, after, weights)

    return sub.once("q7.logs", run)


def _epoch_losses(losses):
    """The training losses of the event file with the most epochs, by epoch."""
    best = max(losses.values(), key=len, default=[])
    return sorted({step: value for step, value in best}.items())


@test_case(points=1, hint="pass keras.callbacks.TensorBoard(log_dir=logdir) to fit's callbacks")
def event_files_are_written(sub, ctx):
    files, _, _, _ = _logs(sub, ctx)
    assert files, f"no TensorBoard event files under {LOGDIR}/ after train_with_tensorboard"


@test_case(points=1, hint="train the model given for the epochs asked, with the TensorBoard callback in fit")
def loss_is_logged_every_epoch(sub, ctx):
    files, losses, epochs, (x, y, before, after, weights) = _logs(sub, ctx)
    assert files, f"no TensorBoard event files under {LOGDIR}/"
    logged = _epoch_losses(losses)
    assert len(logged) == epochs, f"the logs hold a training loss for {len(logged)} epochs; {epochs} were asked for"
    values = [v for _, v in logged]
    assert all(math.isfinite(v) for v in values), "the logged loss is NaN or infinite"
    assert not np.allclose(after, before, atol=1e-6), (
        "the model predicts as it did before train_with_tensorboard: it was not trained, so the logs cannot be "
        "its training's")
    assert np.allclose(after, mlp_forward(x, weights), atol=1e-4), (
        "the model's predictions do not follow from its weights after train_with_tensorboard")
    actual, start = _cross_entropy(after, y), _cross_entropy(before, y)
    assert actual <= start * (1 - ctx.number("loss_drop")), (
        f"the model's loss on the data it was fitted on went from {start:.4f} to {actual:.4f} in "
        f"train_with_tensorboard; {epochs} epochs of fit take it down by more than {ctx.number('loss_drop'):.0%}: "
        "the model must be trained, with the TensorBoard callback in fit")
    assert abs(values[-1] - actual) <= ctx.number("loss_rtol") * actual, (
        f"the last epoch's logged loss is {values[-1]:.4f}, but the trained model's loss on the data it was fitted "
        f"on is {actual:.4f}: the logs must be written by the training itself (the TensorBoard callback in fit)")
    ctx.plot("q7 training loss from your TensorBoard logs", {"epoch_loss": values})

"""q7 — TensorBoard logs, read by the grader from the event files themselves."""

import math

from autograder.checks.tensorboard import scalars
from autograder.judge import test_case

LOGDIR = "logs/q7"


def _logs(sub, ctx):
    def run():
        epochs = ctx.integer("epochs")
        rng = ctx.rng("tb")
        x = rng.uniform(0, 1, (256, 8, 8)).astype("float32")
        y = rng.integers(0, 10, 256)
        model = sub.make("mlp", input_shape=[8, 8], num_classes=10, seed=1)
        sub.call("train_with_tensorboard", model, x, y, LOGDIR, epochs)
        files = [f for f in sub.files(LOGDIR) if "tfevents" in f.rsplit("/", 1)[-1]]
        losses = {}
        for f in files:
            for tag, points in scalars(sub.file(f)).items():
                if tag == "epoch_loss" and "/validation/" not in f"/{f}":
                    losses.setdefault(f, []).extend(points)
        return files, losses, epochs

    return sub.once("q7.logs", run)


@test_case(points=1, hint="pass keras.callbacks.TensorBoard(log_dir=logdir) to fit's callbacks")
def event_files_are_written(sub, ctx):
    files, _, _ = _logs(sub, ctx)
    assert files, f"no TensorBoard event files under {LOGDIR}/ after train_with_tensorboard"


@test_case(points=1, hint="train for the number of epochs asked; the callback logs the loss once per epoch")
def loss_is_logged_every_epoch(sub, ctx):
    files, losses, epochs = _logs(sub, ctx)
    assert files, f"no TensorBoard event files under {LOGDIR}/"
    best = max(losses.values(), key=len, default=[])
    steps = sorted({step for step, _ in best})
    assert len(steps) == epochs, f"the logs hold a training loss for {len(steps)} epochs; {epochs} were asked for"
    values = [v for _, v in sorted(best)]
    assert all(math.isfinite(v) for v in values), "the logged loss is NaN or infinite"
    ctx.plot("q7 training loss from your TensorBoard logs", {"epoch_loss": values})

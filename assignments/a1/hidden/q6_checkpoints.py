"""q6 — a checkpoint round trip, checked in the file itself: the weights saved, and read back from that file.

The grader reads the saved ``.keras`` file as data (its weights, with h5py;
nothing in it is run) and compares them with weights it chose. Then it
writes a copy of that file holding other weights of its choosing and asks
``load_model`` for it: only a model read from that file predicts what those
weights predict (a NumPy forward pass in the grader). A ``save_model`` that
writes junk, or a ``load_model`` that hands back a model from memory, fails.
"""

import numpy as np

from autograder.checks.checkpoints import keras_weights, with_weights
from autograder.checks.models import mlp_forward, mlp_weights
from autograder.checks.values import array, remote
from autograder.judge import test_case

PATH = "checkpoints/model.keras"
SHAPE, UNITS, CLASSES = (8, 8), 16, 10  # the judge's own model (the agent's "mlp" probe)


def _saved(sub, ctx):
    def run():
        model = sub.make("mlp", input_shape=list(SHAPE), num_classes=CLASSES, seed=3, hidden=UNITS)
        chosen = mlp_weights(ctx.rng("saved"), int(np.prod(SHAPE)), UNITS, CLASSES)
        sub.call(model.attr("set_weights"), chosen)
        x = ctx.rng("inputs").uniform(0, 1, (32, *SHAPE)).astype("float32")
        before = array(sub.predict(model, x), "the model's predict")
        sub.call("save_model", model, PATH)
        written = sub.files("checkpoints")
        data = sub.file(PATH) if PATH in written else None
        return chosen, before, written, data, x

    return sub.once("q6.save", run)


@test_case(points=1, hint="save_model should write the model to the path it is given (model.save(path))")
def save_model_writes_the_file(sub, ctx):
    chosen, _, written, data, _ = _saved(sub, ctx)
    assert data is not None, f"save_model(model, {PATH!r}) wrote {written or 'nothing'}"
    saved = keras_weights(data, f"the file save_model wrote at {PATH}")
    assert len(saved) == len(chosen) and all(np.array_equal(s, c) for s, c in zip(saved, chosen, strict=True)), (
        f"the file save_model wrote at {PATH} does not hold the model's weights: save the model as it is")


@test_case(points=1, hint="load_model should read the file it is given back (keras.models.load_model)")
def load_model_restores_predictions_exactly(sub, ctx):
    chosen, before, _, data, x = _saved(sub, ctx)
    assert data is not None, f"nothing was saved at {PATH} to load"
    loaded = remote(sub, "load_model", PATH)
    after = array(sub.predict(loaded, x), "the loaded model's predict")
    assert after.shape == before.shape, f"the loaded model predicts shape {after.shape}, expected {before.shape}"
    assert np.allclose(after, before, atol=ctx.number("atol"), rtol=0), (
        "the loaded model's predictions differ from the saved model's: the weights were not restored")
    # A copy of the file with weights only the grader knows: a model loaded from it predicts with them.
    other = mlp_weights(ctx.rng("other"), int(np.prod(SHAPE)), UNITS, CLASSES)
    folder = sub.data_folder("q6")
    (folder / "other.keras").write_bytes(with_weights(data, other, f"the file at {PATH}"))
    reloaded = array(sub.predict(remote(sub, "load_model", str(folder / "other.keras")), x),
                     "the model load_model read")
    assert np.allclose(reloaded, mlp_forward(x, other), atol=ctx.number("forward_atol")), (
        "load_model returned a model that does not predict with the weights in the file it was given: it must "
        "read the file (keras.models.load_model), not hand back a model from memory")

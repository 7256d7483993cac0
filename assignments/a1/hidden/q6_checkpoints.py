"""q6 — a checkpoint round trip restores a model exactly."""

import numpy as np

from autograder.checks.values import array, remote
from autograder.judge import test_case

PATH = "checkpoints/model.keras"


def _round_trip(sub, ctx):
    def run():
        model = sub.make("mlp", input_shape=[8, 8], num_classes=10, seed=3)
        x = ctx.rng("inputs").uniform(0, 1, (32, 8, 8)).astype("float32")
        before = sub.predict(model, x)
        sub.call("save_model", model, PATH)
        written = sub.files("checkpoints")
        # Change the original after saving: a load that hands back the same
        # object instead of reading the file shows the change.
        sub.call(sub.make("perturb"), model)
        perturbed = sub.predict(model, x)
        return before, perturbed, written, x

    return sub.once("q6.save", run)


@test_case(points=1, hint="save_model should write the model to the path it is given (model.save(path))")
def save_model_writes_the_file(sub, ctx):
    _, _, written, _ = _round_trip(sub, ctx)
    assert PATH in written, f"save_model(model, {PATH!r}) wrote {written or 'nothing'}"


@test_case(points=1, hint="load_model should read the file back (keras.models.load_model)")
def load_model_restores_predictions_exactly(sub, ctx):
    before, perturbed, _, x = _round_trip(sub, ctx)
    loaded = remote(sub, "load_model", PATH)
    after = array(sub.predict(loaded, x), "the loaded model's predict")
    assert after.shape == before.shape, f"the loaded model predicts shape {after.shape}, expected {before.shape}"
    assert not np.array_equal(after, perturbed) or np.array_equal(before, perturbed), (
        "load_model returned the model as it is in memory, not as it was saved")
    assert np.allclose(after, before, atol=ctx.number("atol"), rtol=0), (
        "the loaded model's predictions differ from the saved model's: the weights were not restored")

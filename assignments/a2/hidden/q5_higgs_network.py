"""q5 — the physicist's network: AUC on events the submission never sees, under the spec's seed policy."""

import statistics
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from autograder.checks.seeds import (
    assert_a_model_of_its_own,
    jittered,
    judge_training_time,
    kernel_datasets,
    seeds_note,
    train_over_seeds,
)
from autograder.checks.values import array
from autograder.data.higgs import iter_higgs, synthetic_higgs
from autograder.judge import NotGraded, Remote, reference_figure, test_case


def events(thresholds):
    """``(train x, y), (val x, y), (eval x, y)`` as the spec says: the judge's own synthetic events or the
    real file's."""
    sizes = [int(thresholds[k]) for k in ("train_rows", "val_rows", "eval_rows")]
    source = str(thresholds.get("source", "synthetic"))
    if source == "synthetic":
        x, y = synthetic_higgs(sum(sizes), seed=int(thresholds["data_seed"]))
    else:  # the real HIGGS file: its first rows, in order
        chunks = list(iter_higgs(Path(source).expanduser(), n_rows=sum(sizes)))
        x, y = np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
        if len(x) < sum(sizes):
            raise NotGraded(f"{source} has {len(x)} rows; q5 needs {sum(sizes)}")
    cut = np.cumsum(sizes)
    return (x[:cut[0]], y[:cut[0]]), (x[cut[0]:cut[1]], y[cut[0]:cut[1]]), (x[cut[1]:], y[cut[1]:])


def datasets(handle, thresholds, seed):
    """Training and validation batches built inside the kernel, from values never sent before (``jittered``);
    the evaluation labels stay here."""
    (x_train, y_train), (x_val, y_val), _ = events(thresholds)
    return kernel_datasets(handle, (jittered(x_train, seed), y_train), (x_val, y_val), int(thresholds["batch_size"]),
                           seed)


@reference_figure("q5.train_higgs_seconds")
def reference_training_time(ref, thresholds):
    """The reference solution's training time on this machine, measured at the start of a batch."""
    train, val = datasets(ref, thresholds, seed=0)
    _, _, (x_eval, _) = events(thresholds)
    return ref.timed("train_higgs", train, val, n=1, warmup=0, then=("predict", (x_eval,), {"verbose": 0})).per_call


def _trainings(sub, ctx):
    """Train per the spec's seed policy (stopping once the verdicts are decided): AUC and seconds per seed."""
    def run():
        thresholds = ctx.question.thresholds
        _, _, (x_eval, y_eval) = events(thresholds)
        trained = {}

        def train(seed):
            sub.seed(seed)
            train_ds, val_ds = datasets(sub, thresholds, seed)
            timing = sub.timed("train_higgs", train_ds, val_ds, n=1, warmup=0,
                               then=("predict", (x_eval,), {"verbose": 0}))
            model, p = timing.value
            assert isinstance(model, Remote), "train_higgs(train_ds, val_ds) should return the trained model"
            p = array(p, "the trained model's predict")
            assert p.shape in ((len(x_eval), 1), (len(x_eval),)), (
                f"the trained model's predict gives shape {p.shape} for {len(x_eval)} events; expected "
                f"({len(x_eval)}, 1): one signal probability per event")
            assert np.isfinite(p).all(), "the trained model predicts NaN or inf (did the training diverge?)"
            assert_a_model_of_its_own(trained, seed, p, "train_higgs")
            return float(roc_auc_score(y_eval, p.ravel())), timing.per_call

        return train_over_seeds(ctx, train, "min_auc", reference_key="q5.train_higgs_seconds")

    return sub.once("q5.train", run)


@test_case(points=3, hint="a network with a few hidden layers (e.g. your 'medium' build_model), Adam, binary "
                          "cross-entropy, about a dozen epochs over all of train_ds")
def auc_on_unseen_events(sub, ctx):
    aucs, _ = _trainings(sub, ctx)
    auc = statistics.median(aucs)
    ctx.note(f"AUC per seed: {[round(a, 3) for a in aucs]}, {seeds_note(ctx, len(aucs))}; median {auc:.3f} "
             f"(needed {ctx.number('min_auc')})")
    assert auc >= ctx.number("min_auc"), (
        f"median AUC on unseen events is {auc:.3f}; the threshold is {ctx.number('min_auc')}")


@test_case(points=1, hint="training should take about as long as a medium MLP for a dozen epochs")
def training_time_is_reasonable(sub, ctx):
    _, seconds = _trainings(sub, ctx)
    judge_training_time(ctx, seconds, "q5.train_higgs_seconds")

"""q5 — compile, fit, evaluate: a digits classifier judged on held-out digits."""

import statistics

import numpy as np

from autograder import data
from autograder.checks.seeds import (
    assert_a_model_of_its_own,
    jittered,
    judge_training_time,
    seeds_note,
    train_over_seeds,
)
from autograder.checks.values import array
from autograder.judge import Remote, reference_figure, test_case


@reference_figure("q5.train_classifier_seconds")
def reference_training_time(ref):
    """The reference solution's training time on this machine, measured at the start of a batch."""
    (x_train, y_train), (x_test, _) = data.load_digits()
    # Timed as a submission's is: the training with its first prediction, from inputs written to answers read.
    return ref.timed("train_classifier", x_train, y_train, n=1, warmup=0,
                     then=("predict", (x_test,), {"verbose": 0})).per_call


def _trainings(sub, ctx):
    """Train per the spec's seed policy (stopping once the verdicts are decided); accuracy on the held-out split."""
    def run():
        (x_train, y_train), (x_test, y_test) = data.load_digits()
        history, trained = [], {}

        def train(seed):
            sub.seed(seed)
            # Fresh values each seed (a memo of an earlier training is no use), the classes renamed by a
            # permutation drawn for this grading (a model trained before the call, on the digits' own labels,
            # predicts the wrong names), and the model's first predictions timed with its training (training
            # put off into predict is timed too).
            names = ctx.fresh_rng(f"classes{seed}").permutation(10)
            timing = sub.timed("train_classifier", jittered(x_train, seed), names[y_train], n=1, warmup=0,
                               then=("predict", (x_test,), {"verbose": 0}))
            model, probs = timing.value
            assert isinstance(model, Remote), "train_classifier(x_train, y_train) should return the trained model"
            probs = array(probs, "the trained model's predict")
            assert probs.shape == (len(x_test), 10), (
                f"the trained model's predict gives shape {probs.shape} for {len(x_test)} digits, expected "
                f"({len(x_test)}, 10) class probabilities")
            assert_a_model_of_its_own(trained, seed, probs, "train_classifier")
            if not history:
                try:
                    history.append(sub.get(model.attr("history.history")))
                except AssertionError:
                    history.append(None)
            return float(np.mean(np.argmax(probs, axis=1) == names[y_test])), timing.per_call

        accuracies, seconds = train_over_seeds(ctx, train, "min_accuracy",
                                               reference_key="q5.train_classifier_seconds")
        return accuracies, seconds, history[0] if history else None

    return sub.once("q5.train", run)


@test_case(points=2, hint="a hidden layer of about 128 relu units, softmax output, sparse categorical "
                          "cross-entropy, and enough epochs")
def accuracy_on_held_out_digits(sub, ctx):
    accuracies, _, history = _trainings(sub, ctx)
    if isinstance(history, dict):
        series = {k: v for k, v in history.items() if k in ("loss", "val_loss", "accuracy", "val_accuracy")
                  and isinstance(v, list)}
        if series:
            ctx.plot("q5 training curve (first seed)", series)
    accuracy = statistics.median(accuracies)
    ctx.note(f"accuracy per seed: {[round(a, 3) for a in accuracies]}, {seeds_note(ctx, len(accuracies))}; "
             f"median {accuracy:.3f} (needed {ctx.number('min_accuracy')})")
    assert accuracy >= ctx.number("min_accuracy"), (
        f"median accuracy on held-out digits is {accuracy:.3f}; the threshold is {ctx.number('min_accuracy')}")


@test_case(points=1, hint="training should take about as long as a small MLP for a few dozen epochs")
def training_time_is_reasonable(sub, ctx):
    _, seconds, _ = _trainings(sub, ctx)
    judge_training_time(ctx, seconds, "q5.train_classifier_seconds")

"""Are the training thresholds fair? The reference solution and deliberately weak ones, over many seeds, side by side.

a2's q5 (AUC on HIGGS events) or a3's q6 (accuracy on drawn faces). For
each network, the judge's own procedure, seed after seed: the training and
validation data go into the sandboxed kernel as ``tf.data`` pipelines, the
training function trains, and the score is computed here on evaluation data
whose labels never leave the grader. Printed: each network's score per
seed, the distribution of the median of k seeds (the spec's seed policy) over
all k-subsets, and the margin to the threshold. The reference must pass with
a clear margin, the weak networks must fail.

    .venv/bin/python benchmarks/threshold_margin.py [--assignment a2|a3] [--seeds 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import itertools
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import nbformat
import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import api  # noqa: E402
from autograder.execute import NotebookRun  # noqa: E402
from autograder.grading.steps import prepare_sandbox  # noqa: E402
from autograder.judge.handle import Handle  # noqa: E402
from autograder.sandbox.kernel import Sandbox  # noqa: E402

# Weak networks: the training function's cell edited. Each is a mistake students make.
WEAK = {
    "a2": {
        "tiny network (8 hidden units)": ('build_model(N_FEATURES, "medium", activation="relu")',
                                          'build_model(N_FEATURES, "tiny", activation="relu")'),
        "too little data (4 batches, 1 epoch)": (
            "model.fit(train_ds, validation_data=val_ds, epochs=12, verbose=0)",
            "model.fit(train_ds.take(4), validation_data=val_ds, epochs=1, verbose=0)"),
        "learning rate 1.0": ('make_optimizer("adam", 2e-3)', 'make_optimizer("adam", 1.0)'),
    },
    "a3": {
        "one conv block (16 filters) instead of three": (
            'keras.layers.Conv2D(32, 3, padding="same", activation="relu"),\n        keras.layers.MaxPooling2D(),\n'
            '        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),\n'
            '        keras.layers.MaxPooling2D(),\n',
            ""),
        "two epochs": ("epochs=6, verbose=0)", "epochs=2, verbose=0)"),
        "one epoch": ("epochs=6, verbose=0)", "epochs=1, verbose=0)"),
    },
}


@dataclasses.dataclass
class Question:
    """How one assignment's training question is judged: which function, which data, which score."""
    name: str
    function: str
    threshold_key: str
    score_name: str
    data: str  # the hidden module's function giving (train, val, eval) splits
    score: Callable[[np.ndarray, np.ndarray], float]


def _accuracy(y, p):
    return float(np.mean(np.argmax(p, axis=1) == y))


QUESTIONS = {
    "a2": Question("q5", "train_higgs", "min_auc", "AUC", "events", lambda y, p: float(roc_auc_score(y, np.ravel(p)))),
    "a3": Question("q6", "train_pose_model", "min_accuracy", "accuracy", "faces", _accuracy),
}


def hidden_module(bundle, question: str):
    path = next((bundle.root / "hidden").glob(f"{question}_*.py"))
    spec = importlib.util.spec_from_file_location(f"{bundle.spec.id}_{question}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scores_of(notebook, bundle, q: Question, module, seeds: int) -> tuple[list[float], float]:
    thresholds = dict(bundle.spec.questions[q.name].thresholds)
    _, _, (x_eval, y_eval) = getattr(module, q.data)(thresholds)
    sandbox = Sandbox(bundle.spec.limits)
    prepare_sandbox(sandbox, notebook, bundle.spec.notebook, bundle.files_dir)
    with sandbox:
        sub = Handle(NotebookRun(notebook, sandbox).run_all(), call_timeout=600)
        scores, seconds = [], []
        for seed in range(seeds):
            sub.seed(seed)
            train, val = module.datasets(sub, thresholds, seed)
            start = time.perf_counter()
            model = sub.call(q.function, train, val, timeout=600)
            seconds.append(time.perf_counter() - start)
            scores.append(q.score(y_eval, sub.predict(model, x_eval)))
    return scores, statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", choices=sorted(QUESTIONS), default="a2")
    parser.add_argument("--seeds", type=int, default=7, help="trainings per network (default 7)")
    args = parser.parse_args()
    q = QUESTIONS[args.assignment]
    bundle = api.bundle_for(args.assignment, ROOT)
    module = hidden_module(bundle, q.name)
    thresholds = bundle.spec.questions[q.name].thresholds
    threshold, k = float(thresholds[q.threshold_key]), len(thresholds["seeds"])
    reference = nbformat.read(bundle.reference, 4)
    networks = {"reference solution": reference}
    for name, (old, new) in WEAK[args.assignment].items():
        nb = nbformat.from_dict(reference)
        cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {q.function}" in c.source)
        assert old in cell.source, f"{name}: the reference no longer has {old!r}"
        cell.source = cell.source.replace(old, new)
        networks[name] = nb
    print(f"{args.assignment} {q.name}: threshold {q.score_name} >= {threshold}, median of {k} seeds; {args.seeds} "
          f"trainings per network; {thresholds['train_rows']} training examples, {thresholds['eval_rows']} evaluation "
          "examples")
    print(f"\n{'network':40} {'min':>8} {'median':>7} {'max':>7}   {'median of ' + str(k) + ': min':>17} "
          f"{'max':>6}   {'margin':>7} {'s/train':>8}")
    for name, nb in networks.items():
        scores, seconds = scores_of(nb, bundle, q, module, args.seeds)
        medians = [statistics.median(c) for c in itertools.combinations(scores, k)]
        margin = min(medians) - threshold if name == "reference solution" else threshold - max(medians)
        verdict = "passes always" if min(medians) >= threshold else (
            "fails always" if max(medians) < threshold else "UNDECIDED: depends on the seeds")
        print(f"{name:40} {min(scores):8.3f} {statistics.median(scores):7.3f} {max(scores):7.3f}   "
              f"{min(medians):17.3f} {max(medians):6.3f}   {margin:+7.3f} {seconds:8.1f}   {verdict}")
        print(f"{'':40} per seed: {[round(a, 3) for a in scores]}", flush=True)


if __name__ == "__main__":
    main()

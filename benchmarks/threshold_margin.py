"""Is a2's AUC threshold fair? The reference solution and deliberately weak ones, over many seeds, side by side.

For each network, the judge's own q5 procedure, seed after seed: the
training and validation events go into the sandboxed kernel as ``tf.data``
pipelines, ``train_higgs`` trains, and the AUC is computed here on evaluation
events whose labels never leave the grader. Printed: each network's AUC per
seed, the distribution of the median of k seeds (the spec's seed policy) over
all k-subsets, and the margin to the threshold. The reference must pass with
a clear margin, the weak networks must fail.

    .venv/bin/python benchmarks/threshold_margin.py [--seeds 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import statistics
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder import api  # noqa: E402
from autograder.execute import NotebookRun  # noqa: E402
from autograder.grade import place_files, place_notebook  # noqa: E402
from autograder.judge import Handle  # noqa: E402
from autograder.sandbox import Sandbox  # noqa: E402

# Weak networks: train_higgs's body replaced. Each is a mistake students make.
WEAK = {
    "tiny network (8 hidden units)": ('build_model(N_FEATURES, "medium", activation="relu")',
                                      'build_model(N_FEATURES, "tiny", activation="relu")'),
    "too little data (4 batches, 1 epoch)": ("model.fit(train_ds, validation_data=val_ds, epochs=12, verbose=0)",
                                             "model.fit(train_ds.take(4), validation_data=val_ds, epochs=1, verbose=0)"),
    "learning rate 1.0": ('make_optimizer("adam", 2e-3)', 'make_optimizer("adam", 1.0)'),
}


def hidden_q5(bundle):
    path = next((bundle.root / "hidden").glob("q5_*.py"))
    spec = importlib.util.spec_from_file_location("a2_q5", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def aucs_of(notebook, bundle, q5, seeds: int) -> tuple[list[float], float]:
    thresholds = dict(bundle.spec.questions["q5"].thresholds)
    _, _, (x_eval, y_eval) = q5.events(thresholds)
    sandbox = Sandbox(bundle.spec.limits)
    place_notebook(sandbox, notebook, bundle.spec.notebook)
    place_files(sandbox, bundle.root)
    with sandbox:
        sub = Handle(NotebookRun(notebook, sandbox).run_all(), call_timeout=600)
        aucs, seconds = [], []
        for seed in range(seeds):
            sub.seed(seed)
            train, val = q5.datasets(sub, thresholds, seed)
            start = time.perf_counter()
            model = sub.call("train_higgs", train, val, timeout=600)
            seconds.append(time.perf_counter() - start)
            aucs.append(float(roc_auc_score(y_eval, np.ravel(sub.predict(model, x_eval)))))
    return aucs, statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=7, help="trainings per network (default 7)")
    args = parser.parse_args()
    bundle = api.bundle_for("a2", ROOT)
    q5 = hidden_q5(bundle)
    thresholds = bundle.spec.questions["q5"].thresholds
    threshold, k = float(thresholds["min_auc"]), len(thresholds["seeds"])
    reference = nbformat.read(bundle.reference, 4)
    networks = {"reference solution": reference}
    for name, (old, new) in WEAK.items():
        nb = nbformat.from_dict(reference)
        cell = next(c for c in nb.cells if c.cell_type == "code" and "def train_higgs" in c.source)
        assert old in cell.source, f"{name}: the reference no longer has {old!r}"
        cell.source = cell.source.replace(old, new)
        networks[name] = nb
    print(f"a2 q5: threshold AUC >= {threshold}, median of {k} seeds; {args.seeds} trainings per network; "
          f"{thresholds['train_rows']} training events, {thresholds['eval_rows']} evaluation events")
    print(f"\n{'network':40} {'AUC min':>8} {'median':>7} {'max':>7}   {'median of ' + str(k) + ': min':>17} "
          f"{'max':>6}   {'margin':>7} {'s/train':>8}")
    for name, nb in networks.items():
        aucs, seconds = aucs_of(nb, bundle, q5, args.seeds)
        medians = [statistics.median(c) for c in itertools.combinations(aucs, k)]
        margin = min(medians) - threshold if name == "reference solution" else threshold - max(medians)
        verdict = "passes always" if min(medians) >= threshold else (
            "fails always" if max(medians) < threshold else "UNDECIDED: depends on the seeds")
        print(f"{name:40} {min(aucs):8.3f} {statistics.median(aucs):7.3f} {max(aucs):7.3f}   {min(medians):17.3f} "
              f"{max(medians):6.3f}   {margin:+7.3f} {seconds:8.1f}   {verdict}")
        print(f"{'':40} per seed: {[round(a, 3) for a in aucs]}", flush=True)


if __name__ == "__main__":
    main()

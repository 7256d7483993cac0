"""Make example submissions from a reference solution: right, untouched, and wrong in known ways.

Each wrong submission carries several independent mistakes, one per
question (or per function), so that one grading run checks many of them;
``expected.yaml`` says which hidden tests each mistake must fail. Run after
the reference changes::

    python tests/assignments/make_examples.py a1 a2 a3   # rewrites assignments/<id>/examples/
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]

# (cell that contains `marker`, old text, new text, tests it must fail)
A1_MISTAKES = {
    "relu_where_softmax_belongs": (
        "def build_sequential", 'keras.layers.Dense(num_classes, activation="softmax"),\n    ])',
        'keras.layers.Dense(num_classes, activation="relu"),\n    ])', ["q4/sequential_model"]),
    "functional_with_64_units": (
        "def build_functional", 'h = keras.layers.Dense(128, activation="relu")(h)',
        'h = keras.layers.Dense(64, activation="relu")(h)', ["q4/functional_model"]),
    "dropout_also_at_inference": (
        "class MLPModel", "h = self.dropout(h, training=training)", "h = self.dropout(h, training=True)",
        ["q4/subclassed_model"]),
    "time_call_times_the_warmup_too": (
        "def time_call", "    for _ in range(warmup):\n        _materialize(fn(*args))\n    durations = []\n"
        "    for _ in range(repeats):",
        "    durations = []\n    for _ in range(warmup + repeats):",
        ["q1/time_call_times_each_repeat_after_warmup", "q1/time_call_waits_for_the_result"]),
    "time_call_does_not_wait": (
        "def time_call", "        start = time.perf_counter()\n        _materialize(fn(*args))",
        "        start = time.perf_counter()\n        result = fn(*args)\n"
        "        elapsed = time.perf_counter() - start\n"
        "        _materialize(result)\n        durations.append(elapsed)\n        continue",
        ["q1/time_call_waits_for_the_result"]),
    "saxpy_off_by_one": (
        "def saxpy_serial", "    for i in range(x.shape[0]):", "    out[-1] = 0\n    for i in range(x.shape[0] - 1):",
        ["q2/saxpy_both_correct"]),
    "vectorized_is_a_loop_too": (
        "def saxpy_serial", "    x = tf.convert_to_tensor(x)\n", "    return tf.constant(saxpy_serial(a, x, y))\n",
        ["q2/vectorized_is_faster_than_serial"]),
    "linear_model_barely_trained": (
        "def build_linear_model", "model.fit(x, y, epochs=10, batch_size=32, verbose=0)",
        "model.fit(x[:64], y[:64], epochs=1, batch_size=64, verbose=0)",
        ["q3/learns_the_weight", "q3/learns_the_bias"]),
    "classifier_under_trained": (
        "def train_classifier", "epochs=20, batch_size=32", "epochs=1, batch_size=256",
        ["q5/accuracy_on_held_out_digits"]),
    "checkpoint_does_not_restore": (
        "def save_model", "    return keras.models.load_model(path)",
        "    return build_sequential((8, 8), 10)  # forgets the saved weights",
        ["q6/load_model_restores_predictions_exactly"]),
    "no_tensorboard_logs": (
        "def train_with_tensorboard", "callbacks=[tensorboard]", "callbacks=[]",
        ["q7/event_files_are_written", "q7/loss_is_logged_every_epoch"]),
    "tensorboard_one_epoch_short": (
        "def train_with_tensorboard", "epochs=epochs, verbose=0", "epochs=max(epochs - 1, 1), verbose=0",
        ["q7/loss_is_logged_every_epoch"]),
}

A2_MISTAKES = {
    "relu_leaks_negatives": (
        "def relu", "return tf.maximum(x, 0.0)  # SOLUTION", "return tf.maximum(x, 0.01 * x)",
        ["q1/relu_values_and_gradient", "q1/activations_work_inside_a_dense_layer"]),
    "leaky_relu_ignores_alpha": (
        "def relu", "return tf.where(x > 0, x, alpha * x)  # SOLUTION", "return tf.where(x > 0, x, 0.2 * x)",
        ["q1/leaky_relu_values_and_gradient"]),
    "elu_wrong_below_zero": (
        "def relu", "return tf.where(x > 0, x, alpha * (tf.exp(tf.minimum(x, 0.0)) - 1.0))  # SOLUTION",
        "return tf.where(x > 0, x, alpha * tf.exp(tf.minimum(x, 0.0)))",
        ["q1/elu_values_and_gradient", "q1/selu_values_and_gradient", "q1/activations_work_inside_a_dense_layer"]),
    "elu_exp_overflows": (
        "def relu", "return tf.where(x > 0, x, alpha * (tf.exp(tf.minimum(x, 0.0)) - 1.0))  # SOLUTION",
        "return tf.where(x > 0, x, alpha * (tf.exp(x) - 1.0))",
        ["q1/elu_values_and_gradient", "q1/selu_values_and_gradient"]),
    "gelu_tanh_approximation": (
        "def relu", "return 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))  # SOLUTION",
        "return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))",
        ["q1/gelu_values_and_gradient", "q1/activations_work_inside_a_dense_layer"]),
    "output_without_sigmoid": (
        "def build_model", 'layers.append(keras.layers.Dense(1, activation="sigmoid"))',
        "layers.append(keras.layers.Dense(1))", ["q2/one_sigmoid_output"]),
    "activation_ignored": (
        "def build_model", "keras.layers.Dense(units, activation=activation)",
        'keras.layers.Dense(units, activation="relu")', ["q2/hidden_layers_use_the_activation"]),
    "l2_penalty_doubled": (
        "class L1L2", "self.l2 * tf.reduce_sum(tf.square(w))", "2 * self.l2 * tf.reduce_sum(tf.square(w))",
        ["q3/penalty_is_l1_plus_l2", "q3/model_losses_hold_the_penalty"]),
    "from_config_loses_l1": (
        "class L1L2", 'return {"l1": self.l1, "l2": self.l2}  # SOLUTION', 'return {"l2": self.l2}',
        ["q3/config_round_trip"]),
    "output_layer_regularised": (
        "class L1L2", 'keras.layers.Dense(1, activation="sigmoid"),',
        'keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=L1L2(l2=l2)),',
        ["q3/model_losses_hold_the_penalty"]),
    "nesterov_ignored": (
        "def make_optimizer", "    return kinds[name](learning_rate=learning_rate, **kw)",
        '    kw.pop("nesterov", None)\n    return kinds[name](learning_rate=learning_rate, **kw)',
        ["q4/sgd_and_rmsprop_as_asked"]),
    "unknown_optimizer_becomes_adam": (
        "def make_optimizer",
        '        raise ValueError(f"unknown optimiser {name!r}; expected one of {sorted(kinds)}")',
        '        name = "adam"', ["q4/adam_and_adamw_as_asked"]),
    "schedule_off_by_one_step": (
        "def make_optimizer",
        '        return keras.optimizers.schedules.ExponentialDecay('
        'initial_learning_rate, decay_steps, kw["decay_rate"])',
        '        return lambda step: initial_learning_rate * kw["decay_rate"] ** ((step + 1) / decay_steps)',
        ["q4/schedules_at_hidden_steps"]),
    "trained_on_too_little_data": (
        "def train_higgs", "model.fit(train_ds, validation_data=val_ds, epochs=12, verbose=0)",
        "model.fit(train_ds.take(4), validation_data=val_ds, epochs=1, verbose=0)",
        ["q5/auc_on_unseen_events"]),
}

# make_dataset decoding every file in a Python loop, then wrapping the arrays (benchmarks/loader_speed.py uses it too).
LOOP_LOADER = (
    "    ds = tf.data.Dataset.from_tensor_slices((paths, labels))\n"
    "    if shuffle:\n"
    "        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)\n"
    "    ds = ds.map(lambda p, y: (decode(p, image_size, channels), y), num_parallel_calls=tf.data.AUTOTUNE)\n",
    "    images = np.stack([decode(p, image_size, channels).numpy() for p in paths])  # one file at a time\n"
    "    ds = tf.data.Dataset.from_tensor_slices((images, labels))\n"
    "    if shuffle:\n"
    "        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)\n")

A3_MISTAKES = {
    "images_shuffled_labels_not": (
        "def load_images", '    return x.astype("float32"), labels, class_names',
        '    x = x[np.random.default_rng(0).permutation(len(x))]  # shuffled, but the labels are not\n'
        '    return x.astype("float32"), labels, class_names',
        ["q1/labels_follow_sorted_folder_names"]),
    "corrupt_file_skipped_silently": (
        "def load_images",
        '            raise ValueError(f"{path}: not a readable image ({e.message.splitlines()[0]})") from None',
        "            continue  # skip what cannot be read", ["q1/corrupt_file_names_the_file"]),
    "shuffled_once_not_each_epoch": (
        "def make_dataset", "reshuffle_each_iteration=True)", "reshuffle_each_iteration=False)",
        ["q2/reshuffled_each_epoch_and_reproducible"]),
    "files_shuffled_apart_from_labels": (
        "def make_dataset", "        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)",
        "        ds = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(paths).shuffle(len(paths), seed=seed),\n"
        "                                 tf.data.Dataset.from_tensor_slices(labels))",
        ["q2/every_file_once_and_labels_with_their_images"]),
    "decoded_in_a_python_loop": (
        "def make_dataset", LOOP_LOADER[0], LOOP_LOADER[1], ["q7/pipeline_beats_a_python_loop"]),
    "flip_mirrors_the_label": (
        "def augment", "    image = tf.image.stateless_random_flip_left_right(image, seeds[0])",
        "    flipped = tf.image.stateless_random_flip_left_right(image, seeds[0])\n"
        "    label = tf.where(tf.reduce_all(flipped == image), label, 4 - label)"
        "  # a mirrored face looks the other way\n"
        "    image = flipped",
        ["q3/keeps_label_shape_dtype_and_range", "q3/used_in_the_pipeline"]),
    "brightness_leaves_the_range": (
        "def augment", "    return tf.clip_by_value(image, 0.0, 1.0), label", "    return image, label",
        ["q3/keeps_label_shape_dtype_and_range", "q3/used_in_the_pipeline"]),
    "flip_upside_down": (
        "def augment", "tf.image.stateless_random_flip_left_right(image, seeds[0])",
        "tf.image.stateless_random_flip_up_down(image, seeds[0])", ["q3/a_flip_really_flips"]),
    "validation_generator_augments": (
        "def make_generators", "    val = plain.flow_from_directory(", "    val = augmenting.flow_from_directory(",
        ["q4/augments_training_not_validation"]),
    "pydataset_drops_the_last_batch": (
        "class PoseLoader", "        return math.ceil(len(self.images) / self.batch_size)",
        "        return len(self.images) // self.batch_size",
        ["q5/length_and_batch_shapes", "q5/every_sample_once_together_and_reshuffled"]),
    "on_epoch_end_does_not_shuffle": (
        "class PoseLoader", "        if self.shuffle:\n            self.order = self.rng.permutation(len(self.images))",
        "        pass", ["q5/every_sample_once_together_and_reshuffled"]),
    "cnn_trained_one_epoch": (
        "def build_cnn", "epochs=6, verbose=0)", "epochs=1, verbose=0)", ["q6/accuracy_on_hidden_faces"]),
    "returned_before_fit": (
        "def build_cnn", "    model.fit(train_ds, validation_data=val_ds, epochs=6, verbose=0)\n", "",
        ["q6/accuracy_on_hidden_faces"]),
    "cnn_over_the_parameter_cap": (
        "def build_cnn", 'keras.layers.Dense(64, activation="relu"),', 'keras.layers.Dense(512, activation="relu"),',
        # Over the cap, its training counts for nothing (and is not run).
        ["q6/cnn_is_small_and_convolutional", "q6/accuracy_on_hidden_faces", "q6/training_time_is_reasonable"]),
}

MISTAKES = {"a1": A1_MISTAKES, "a2": A2_MISTAKES, "a3": A3_MISTAKES}

# Each wrong submission: one mistake per question (per function) at most, so every failure is attributable.
A1_SUBMISSIONS = {
    "wrong_api_timer_saxpy": ["relu_where_softmax_belongs", "time_call_times_the_warmup_too", "saxpy_off_by_one",
                              "checkpoint_does_not_restore", "no_tensorboard_logs"],
    "wrong_units_wait_loop": ["functional_with_64_units", "time_call_does_not_wait", "vectorized_is_a_loop_too",
                              "linear_model_barely_trained", "tensorboard_one_epoch_short"],
    "wrong_dropout_training": ["dropout_also_at_inference", "classifier_under_trained"],
}
A2_SUBMISSIONS = {
    "wrong_relu_logits_l2_nesterov_data": ["relu_leaks_negatives", "output_without_sigmoid", "l2_penalty_doubled",
                                           "nesterov_ignored", "trained_on_too_little_data"],
    "wrong_leaky_elu_activation_config_schedule": ["leaky_relu_ignores_alpha", "elu_wrong_below_zero",
                                                   "activation_ignored", "from_config_loses_l1",
                                                   "schedule_off_by_one_step"],
    "wrong_gelu_overflow_outreg_name": ["gelu_tanh_approximation", "elu_exp_overflows", "output_layer_regularised",
                                        "unknown_optimizer_becomes_adam"],
}
A3_SUBMISSIONS = {
    "wrong_order_reshuffle_label_valgen_lastbatch_epochs": [
        "images_shuffled_labels_not", "shuffled_once_not_each_epoch", "flip_mirrors_the_label",
        "validation_generator_augments", "pydataset_drops_the_last_batch", "cnn_trained_one_epoch"],
    "wrong_silent_apart_range_noshuffle_cap": [
        "corrupt_file_skipped_silently", "files_shuffled_apart_from_labels", "brightness_leaves_the_range",
        "on_epoch_end_does_not_shuffle", "cnn_over_the_parameter_cap"],
    "wrong_loop_updown_unfitted": ["decoded_in_a_python_loop", "flip_upside_down", "returned_before_fit"],
}
SUBMISSIONS = {"a1": A1_SUBMISSIONS, "a2": A2_SUBMISSIONS, "a3": A3_SUBMISSIONS}


def apply(nb: nbformat.NotebookNode, assignment: str, mistake: str) -> None:
    marker, old, new, _ = MISTAKES[assignment][mistake]
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    if len(cells) != 1 or old not in cells[0].source:
        raise SystemExit(f"{mistake}: the reference no longer has {old!r} in the cell with {marker!r}")
    cells[0].source = cells[0].source.replace(old, new, 1)


def make(assignment: str, reference: Path, template: Path) -> dict:
    out = ROOT / "assignments" / assignment / "examples"
    out.mkdir(parents=True, exist_ok=True)
    expected = {"solution": {"fails": []}, "template": {"fails": "all"}}
    nbformat.write(nbformat.read(reference, 4), out / "solution.ipynb")
    nbformat.write(nbformat.read(template, 4), out / "template.ipynb")
    for name, mistakes in SUBMISSIONS[assignment].items():
        nb = nbformat.read(reference, 4)
        for m in mistakes:
            apply(nb, assignment, m)
        nbformat.write(nb, out / f"{name}.ipynb")
        fails = {t for m in mistakes for t in MISTAKES[assignment][m][3]}
        expected[name] = {"mistakes": mistakes, "fails": sorted(fails)}
    (out / "expected.yaml").write_text(
        "# Written by tests/assignments/make_examples.py: the hidden tests each example submission must fail.\n"
        + yaml.safe_dump(expected, sort_keys=True))
    return expected


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from autograder import api

    for assignment in sys.argv[1:] or sorted(MISTAKES):
        bundle = api.bundle_for(assignment, ROOT)
        make(assignment, bundle.reference, ROOT / "student_template" / assignment / f"{assignment}.ipynb")
        print(f"wrote {ROOT / 'assignments' / assignment / 'examples'}")

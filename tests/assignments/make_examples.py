"""Make example submissions from a reference solution: right, untouched, wrong in known ways, right in odd ways.

Each wrong submission carries several independent mistakes, one per
question (or per function), so that one grading run checks many of them;
``expected.yaml`` says which hidden tests each mistake must fail. The
fairness example (``fair_unusual_style``) is the reference rewritten in
unusual but valid styles (``STYLES``): activation layers, activations as
functions, another model API, TensorFlow ops for NumPy, helpers of its own.
Hidden tests grade behaviour, so it must fail nothing. Run after the
reference changes::

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

# Right answers written in unusual but valid ways, for the fairness examples: hidden tests grade behaviour,
# so each of these must get full marks. (cell that contains `marker`, old text, new text)
A1_STYLES = {
    "matmul_with_the_at_operator": (
        "def matmul_numpy", "return tf.matmul(tf.convert_to_tensor(a), tf.convert_to_tensor(b))",
        "return tf.convert_to_tensor(a) @ tf.convert_to_tensor(b)  # @ on tensors is tf.linalg.matmul"),
    "saxpy_with_tf_add_and_multiply": (
        "def saxpy_serial", "return tf.cast(a, x.dtype) * x + y",
        "return tf.add(tf.multiply(tf.cast(a, x.dtype), x), y)"),
    "linear_model_functional": (
        "def build_linear_model", "model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])",
        "inputs = keras.Input(shape=(1,))\n"
        "    model = keras.Model(inputs, keras.layers.Dense(1, activation=None)(inputs))"),
    "sequential_by_add_with_activation_layers": (
        "def build_sequential",
        "    return keras.Sequential([\n"
        "        keras.Input(shape=tuple(input_shape)),\n"
        "        keras.layers.Flatten(),\n"
        '        keras.layers.Dense(128, activation="relu"),\n'
        "        keras.layers.Dropout(0.2),\n"
        '        keras.layers.Dense(num_classes, activation="softmax"),\n'
        "    ])",
        "    model = keras.Sequential()\n"
        "    model.add(keras.Input(shape=tuple(input_shape)))\n"
        "    model.add(keras.layers.Flatten())\n"
        "    model.add(keras.layers.Dense(128))\n"
        "    model.add(keras.layers.Activation(keras.activations.relu))\n"
        "    model.add(keras.layers.Dropout(rate=0.2))\n"
        "    model.add(keras.layers.Dense(num_classes))\n"
        '    model.add(keras.layers.Activation("softmax"))\n'
        "    return model"),
    "functional_with_a_lambda_and_a_softmax_layer": (
        "def build_functional",
        '    h = keras.layers.Dense(128, activation="relu")(h)\n'
        "    h = keras.layers.Dropout(0.2)(h)\n"
        '    outputs = keras.layers.Dense(num_classes, activation="softmax")(h)',
        "    h = keras.layers.Dense(128, activation=lambda z: tf.maximum(z, 0.0))(h)\n"
        "    h = keras.layers.Dropout(0.2)(h)\n"
        "    outputs = keras.layers.Softmax()(keras.layers.Dense(num_classes)(h))"),
    "subclass_activations_in_call": (
        "class MLPModel",
        '        self.hidden = keras.layers.Dense(128, activation="relu")\n'
        "        self.dropout = keras.layers.Dropout(0.2)\n"
        '        self.classifier = keras.layers.Dense(self.num_classes, activation="softmax")',
        "        self.hidden = keras.layers.Dense(128)  # relu and softmax are applied in call()\n"
        "        self.dropout = keras.layers.Dropout(0.2)\n"
        "        self.classifier = keras.layers.Dense(self.num_classes)"),
    "subclass_tf_nn_ops": (
        "class MLPModel",
        "        h = self.hidden(h)\n        h = self.dropout(h, training=training)\n        return self.classifier(h)",
        "        h = tf.nn.relu(self.hidden(h))\n        h = self.dropout(h, training=training)\n"
        "        return tf.nn.softmax(self.classifier(h))"),
    "classifier_reuses_build_functional_with_loss_objects": (
        "def train_classifier",
        "    model = keras.Sequential([\n"
        "        keras.Input(shape=x_train.shape[1:]),\n"
        "        keras.layers.Flatten(),\n"
        '        keras.layers.Dense(128, activation="relu"),\n'
        "        keras.layers.Dropout(0.2),\n"
        '        keras.layers.Dense(10, activation="softmax"),\n'
        "    ])\n"
        "    model.compile(\n"
        "        optimizer=keras.optimizers.Adam(learning_rate=3e-3),\n"
        '        loss="sparse_categorical_crossentropy",\n'
        '        metrics=["accuracy"],\n'
        "    )",
        "    model = build_functional(x_train.shape[1:], 10)\n"
        "    model.compile(\n"
        "        optimizer=keras.optimizers.Adam(learning_rate=3e-3),\n"
        "        loss=keras.losses.SparseCategoricalCrossentropy(),\n"
        '        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],\n'
        "    )"),
    "save_with_models_save_model_and_a_helper": (
        "def save_model",
        "def save_model(model, path):\n"
        '    """Save `model` to the .keras file `path`, creating parent directories."""\n'
        "    # BEGIN SOLUTION\n"
        "    parent = os.path.dirname(os.path.abspath(path))\n"
        "    os.makedirs(parent, exist_ok=True)\n"
        "    model.save(path)",
        "def ensure_parent(path):\n"
        '    """Create the folder that will hold `path`."""\n'
        "    import pathlib\n\n"
        "    pathlib.Path(path).absolute().parent.mkdir(parents=True, exist_ok=True)\n\n\n"
        "def save_model(model, path):\n"
        '    """Save `model` to the .keras file `path`, creating parent directories."""\n'
        "    # BEGIN SOLUTION\n"
        "    ensure_parent(path)\n"
        "    keras.models.save_model(model, path)"),
    "load_model_with_keyword_arguments": (
        "def save_model", "return keras.models.load_model(path)  # SOLUTION",
        "return keras.models.load_model(os.fspath(path), compile=True)  # SOLUTION"),
    "tensorboard_callback_inline": (
        "def train_with_tensorboard",
        "    tensorboard = keras.callbacks.TensorBoard(log_dir=logdir)\n"
        "    return model.fit(x, y, epochs=epochs, verbose=0, callbacks=[tensorboard])",
        "    history = model.fit(x, y, epochs=epochs, verbose=0, callbacks=[keras.callbacks.TensorBoard(logdir)])\n"
        "    return history"),
}

A2_STYLES = {
    "relu_with_tf_where": (
        "def relu", "return tf.maximum(x, 0.0)  # SOLUTION",
        "return tf.where(x > 0.0, x, tf.zeros_like(x))  # SOLUTION"),
    "leaky_relu_with_tf_maximum": (
        "def relu", "return tf.where(x > 0, x, alpha * x)  # SOLUTION",
        "return tf.maximum(x, alpha * x)  # SOLUTION (for 0 <= alpha <= 1)"),
    "elu_with_expm1": (
        "def relu", "return tf.where(x > 0, x, alpha * (tf.exp(tf.minimum(x, 0.0)) - 1.0))  # SOLUTION",
        "return tf.where(x > 0, x, alpha * tf.math.expm1(tf.minimum(x, 0.0)))  # SOLUTION"),
    "selu_with_named_constants": (
        "def relu", "return 1.0507009873554805 * elu(x, 1.6732632423543772)  # SOLUTION",
        "scale, alpha = 1.0507009873554805, 1.6732632423543772\n"
        "    return scale * tf.where(x > 0, x, alpha * tf.math.expm1(tf.minimum(x, 0.0)))  # SOLUTION"),
    "swish_through_tanh": (
        "def relu", "return x * tf.sigmoid(x)  # SOLUTION",
        "return x * 0.5 * (1.0 + tf.tanh(0.5 * x))  # SOLUTION: sigmoid(x) = (1 + tanh(x / 2)) / 2"),
    "gelu_with_erfc": (
        "def relu", "return 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))  # SOLUTION",
        "return 0.5 * x * tf.math.erfc(-x / math.sqrt(2.0))  # SOLUTION: 1 + erf(z) = erfc(-z)"),
    "capacity_model_with_activation_layers": (
        "def build_model",
        "    layers = [keras.Input(shape=(n_features,))]\n"
        "    layers += [keras.layers.Dense(units, activation=activation) for units in HIDDEN[capacity]]\n"
        '    layers.append(keras.layers.Dense(1, activation="sigmoid"))\n'
        "    return keras.Sequential(layers)",
        "    net = keras.Sequential()\n"
        "    net.add(keras.Input(shape=(n_features,)))\n"
        "    for width in HIDDEN[capacity]:\n"
        "        net.add(keras.layers.Dense(width))\n"
        "        net.add(keras.layers.Activation(activation))\n"
        "    net.add(keras.layers.Dense(1))\n"
        '    net.add(keras.layers.Activation("sigmoid"))\n'
        "    return net"),
    "penalty_with_tf_norm": (
        "class L1L2", "return self.l1 * tf.reduce_sum(tf.abs(w)) + self.l2 * tf.reduce_sum(tf.square(w))",
        "w = tf.convert_to_tensor(w)\n"
        "        return self.l1 * tf.norm(tf.reshape(w, [-1]), ord=1) + self.l2 * tf.reduce_sum(w * w)"),
    "config_with_dict": (
        "class L1L2", 'return {"l1": self.l1, "l2": self.l2}  # SOLUTION',
        "return dict(l1=self.l1, l2=self.l2)  # SOLUTION"),
    "regularised_model_subclassed_with_one_shared_dropout": (
        "class L1L2",
        "def build_regularised_model(n_features, l2=1e-4, dropout=0.2):\n"
        '    """Two hidden layers with L2 on their kernels and dropout after each; one sigmoid output."""\n'
        "    # BEGIN SOLUTION\n"
        "    return keras.Sequential([\n"
        "        keras.Input(shape=(n_features,)),\n"
        '        keras.layers.Dense(128, activation="relu", kernel_regularizer=L1L2(l2=l2)),\n'
        "        keras.layers.Dropout(dropout),\n"
        '        keras.layers.Dense(64, activation="relu", kernel_regularizer=L1L2(l2=l2)),\n'
        "        keras.layers.Dropout(dropout),\n"
        '        keras.layers.Dense(1, activation="sigmoid"),\n'
        "    ])",
        "class RegularisedMLP(keras.Model):\n"
        '    """Two regularised hidden layers, one Dropout layer used after each, one sigmoid output."""\n\n'
        "    def __init__(self, n_features, l2, dropout, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.first = keras.layers.Dense(128, kernel_regularizer=L1L2(l2=l2))\n"
        "        self.second = keras.layers.Dense(64, kernel_regularizer=L1L2(l2=l2))\n"
        "        self.drop = keras.layers.Dropout(dropout)\n"
        "        self.head = keras.layers.Dense(1)\n"
        '        self(np.zeros((1, n_features), dtype="float32"))  # built: its weights exist at once\n\n'
        "    def call(self, inputs, training=False):\n"
        "        h = self.drop(tf.nn.relu(self.first(inputs)), training=training)\n"
        "        h = self.drop(tf.nn.relu(self.second(h)), training=training)\n"
        "        return tf.sigmoid(self.head(h))\n\n\n"
        "def build_regularised_model(n_features, l2=1e-4, dropout=0.2):\n"
        '    """Two hidden layers with L2 on their kernels and dropout after each; one sigmoid output."""\n'
        "    # BEGIN SOLUTION\n"
        "    return RegularisedMLP(n_features, l2, dropout)"),
    "optimisers_from_tf_keras_by_name": (
        "def make_optimizer",
        "    kinds = {\n"
        '        "sgd": keras.optimizers.SGD,\n'
        '        "rmsprop": keras.optimizers.RMSprop,\n'
        '        "adam": keras.optimizers.Adam,\n'
        '        "adamw": keras.optimizers.AdamW,\n'
        "    }\n"
        "    if name not in kinds:\n"
        '        raise ValueError(f"unknown optimiser {name!r}; expected one of {sorted(kinds)}")\n'
        "    return kinds[name](learning_rate=learning_rate, **kw)",
        '    classes = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}\n'
        "    if name not in classes:\n"
        '        raise ValueError(f"no optimiser called {name!r}")\n'
        "    return getattr(tf.keras.optimizers, classes[name])(learning_rate, **kw)"),
    "exponential_schedule_of_ones_own": (
        "def make_optimizer",
        "        return keras.optimizers.schedules.ExponentialDecay("
        'initial_learning_rate, decay_steps, kw["decay_rate"])',
        "        return Exponential(initial_learning_rate, decay_steps, kw[\"decay_rate\"])"),
    "exponential_schedule_class": (
        "def make_optimizer",
        "def make_schedule(kind, initial_learning_rate, decay_steps, **kw):",
        "class Exponential(keras.optimizers.schedules.LearningRateSchedule):\n"
        '    """lr0 * rate ** (step / steps), in TensorFlow ops."""\n\n'
        "    def __init__(self, lr0, steps, rate):\n"
        "        self.lr0, self.steps, self.rate = float(lr0), float(steps), float(rate)\n\n"
        "    def __call__(self, step):\n"
        "        return self.lr0 * tf.pow(self.rate, tf.cast(step, tf.float32) / self.steps)\n\n"
        "    def get_config(self):\n"
        '        return {"lr0": self.lr0, "steps": self.steps, "rate": self.rate}\n\n\n'
        "def make_schedule(kind, initial_learning_rate, decay_steps, **kw):"),
    "higgs_network_with_a_callable_activation_and_a_loss_object": (
        "def train_higgs",
        '    model = build_model(N_FEATURES, "medium", activation="relu")\n'
        '    model.compile(optimizer=make_optimizer("adam", 2e-3), loss="binary_crossentropy",',
        '    model = build_model(N_FEATURES, "medium", activation=keras.activations.relu)\n'
        '    model.compile(optimizer=make_optimizer("adam", 2e-3), loss=keras.losses.BinaryCrossentropy(),'),
}

A3_STYLES = {
    "images_stacked_by_tensorflow": (
        "def load_images",
        "    paths, labels, class_names = image_files(folder)\n"
        "    images = []\n"
        "    for path in paths:\n"
        "        try:\n"
        "            images.append(decode(path, image_size, channels).numpy())\n"
        "        except tf.errors.OpError as e:\n"
        '            raise ValueError(f"{path}: not a readable image ({e.message.splitlines()[0]})") from None\n'
        '    x = np.stack(images) if images else np.zeros((0, image_size, image_size, channels), "float32")\n'
        '    return x.astype("float32"), labels, class_names',
        "    files, y, names = image_files(folder)\n\n"
        "    def read_one(file):\n"
        "        try:\n"
        "            return decode(file, image_size, channels)\n"
        "        except tf.errors.OpError:\n"
        '            raise OSError(f"cannot decode {file}") from None\n\n'
        "    x = tf.stack([read_one(f) for f in files]) if files else tf.zeros((0, image_size, image_size, channels))\n"
        "    return x.numpy(), y, names"),
    "pipeline_maps_a_named_function": (
        "def make_dataset",
        "    ds = ds.map(lambda p, y: (decode(p, image_size, channels), y), num_parallel_calls=tf.data.AUTOTUNE)\n",
        "\n    def load(path, label):\n"
        "        return decode(path, image_size, channels), label\n\n"
        "    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)\n"),
    "flip_with_a_seeded_coin_and_tf_reverse": (
        "def augment", "    image = tf.image.stateless_random_flip_left_right(image, seeds[0])",
        "    mirror = tf.random.stateless_uniform([], seeds[0]) < 0.5\n"
        "    image = tf.where(mirror, tf.reverse(image, axis=[1]), image)"),
    "loader_as_keras_sequence": (
        "class PoseLoader",
        "class PoseLoader(keras.utils.PyDataset):",
        "class PoseLoader(keras.utils.Sequence):  # Keras 3's name for PyDataset too"),
    "loader_batches_with_np_take": (
        "class PoseLoader",
        '        return ({"image": self.images[rows], "scale": self.scales[rows]},\n'
        '                {"pose": self.poses[rows], "yaw": self.yaws[rows]})',
        "        take = lambda a: np.take(a, rows, axis=0)  # noqa: E731\n"
        '        return {"image": take(self.images), "scale": take(self.scales)}, {"pose": take(self.poses),\n'
        '                                                                         "yaw": take(self.yaws)}'),
    "cnn_functional_with_nested_blocks_and_activation_layers": (
        "def build_cnn",
        "    return keras.Sequential([\n"
        "        keras.Input(shape=input_shape),\n"
        '        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),\n'
        "        keras.layers.MaxPooling2D(),\n"
        '        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),\n'
        "        keras.layers.MaxPooling2D(),\n"
        '        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),\n'
        "        keras.layers.MaxPooling2D(),\n"
        "        keras.layers.Flatten(),\n"
        "        keras.layers.Dropout(0.3),\n"
        '        keras.layers.Dense(64, activation="relu"),\n'
        '        keras.layers.Dense(num_classes, activation="softmax"),\n'
        "    ])",
        "    inputs = keras.Input(shape=input_shape)\n"
        "    h = inputs\n"
        "    for filters in (16, 32, 64):\n"
        "        h = conv_block(filters)(h)\n"
        "    h = keras.layers.Dropout(0.3)(keras.layers.Flatten()(h))\n"
        "    h = keras.layers.Activation(tf.nn.relu)(keras.layers.Dense(64)(h))\n"
        "    outputs = keras.layers.Softmax()(keras.layers.Dense(num_classes)(h))\n"
        "    return keras.Model(inputs, outputs)"),
    "cnn_block_helper": (
        "def build_cnn", "def build_cnn(input_shape, num_classes):",
        "def conv_block(filters):\n"
        '    """Conv2D, relu, 2x2 max pooling: one block of the CNN, as a small model of its own."""\n'
        '    return keras.Sequential([keras.layers.Conv2D(filters, 3, padding="same"),\n'
        '                             keras.layers.Activation("relu"), keras.layers.MaxPooling2D()])\n\n\n'
        "def build_cnn(input_shape, num_classes):"),
}

STYLES = {"a1": A1_STYLES, "a2": A2_STYLES, "a3": A3_STYLES}
# The fairness example: every style at once, and full marks expected.
FAIR = "fair_unusual_style"


def apply(nb: nbformat.NotebookNode, assignment: str, mistake: str, changes: dict | None = None) -> None:
    """Rewrite the reference's text as ``mistake`` (a key of ``MISTAKES``, or of ``changes`` such as ``STYLES``)."""
    marker, old, new = (changes or MISTAKES)[assignment][mistake][:3]
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
    nb = nbformat.read(reference, 4)
    for style in STYLES[assignment]:
        apply(nb, assignment, style, STYLES)
    nbformat.write(nb, out / f"{FAIR}.ipynb")
    expected[FAIR] = {"mistakes": [], "styles": list(STYLES[assignment]), "fails": []}
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

"""The grader's helper inside the sandboxed kernel.

This file is not imported by the grader: its text is executed in the
submission's kernel after the notebook has run, as a module of its own
(``sys.modules["dlgrade_agent"]``: none of its names enter the notebook's
namespace, where a student's helper of the same name would clash), and defines ``AGENT``
there. The grader asks it for things by writing a request folder
(``request.json`` plus ``.npy`` arguments) and running ``AGENT.serve(dir)``;
it answers with ``response.json`` plus ``.npy`` files. Only arrays (without
pickles) and JSON cross back; anything else stays in the kernel as a numbered
reference. Nothing here is secret, and nothing it returns is trusted.
"""

import json as _json
import os as _os
import traceback as _traceback


class _Gated:
    """A function each of whose calls lasts as long as the grader holds it: it asks through the FIFO ``ask`` in the
    grader's read-only ``folder`` and returns when the grader answers on ``go``, after a wait of the grader's own
    choosing that nothing in the kernel can read beforehand. With ``lazy`` the call returns at once and the wait
    happens when its result is forced (``.numpy()`` or ``np.asarray``)."""

    def __init__(self, folder, lazy=False):
        self._folder, self._lazy, self._fds = folder, bool(lazy), None

    def _wait(self):
        if self._fds is None:
            self._fds = (_os.open(_os.path.join(self._folder, "ask"), _os.O_WRONLY),
                         _os.open(_os.path.join(self._folder, "go"), _os.O_RDONLY))
        _os.write(self._fds[0], b"a")
        _os.read(self._fds[1], 1)

    def __call__(self, *args, **kwargs):
        if self._lazy:
            return _GatedResult(self._wait)
        self._wait()
        return None


class _GatedResult:
    """A gated call's result, whose wait happens the first time it is forced."""

    def __init__(self, wait):
        self._wait, self._done = wait, False

    def numpy(self):
        import numpy as np

        if not self._done:
            self._wait()
            self._done = True
        return np.zeros(4, dtype="float32")

    def __array__(self, dtype=None, copy=None):
        out = self.numpy()
        return out if dtype is None else out.astype(dtype)


def _mlp(input_shape, num_classes, seed=0, hidden=16):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=tuple(input_shape)),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _dataset(x, y, batch_size=256, shuffle_seed=None):
    """A ``tf.data`` pipeline of ``(x, y)`` batches, as a student's training function expects one."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(x), seed=int(shuffle_seed), reshuffle_each_iteration=True)
    return ds.batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)


def _gradient(fn, x, *args):
    """d sum(fn(x, *args)) / dx through tf.GradientTape: the gradient the submission's function gives."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.convert_to_tensor(fn(x, *args), dtype=tf.float32))
    grad = tape.gradient(y, x)
    return None if grad is None else grad.numpy()


def _in_dense(activation, x, units=4, seed=0):
    """A Dense layer that uses ``activation``, applied to ``x``; with its weights, for the judge to redo."""
    import keras

    keras.utils.set_random_seed(int(seed))
    layer = keras.layers.Dense(int(units), activation=activation)
    out = layer(x)
    kernel, bias = layer.get_weights()
    return out, kernel, bias


def _optimiser_steps(optimizer, start, gradients):
    """The weights after each step of ``optimizer`` on a variable from ``start``, one row of ``gradients`` a step."""
    import keras
    import numpy as np
    import tensorflow as tf

    variable = keras.Variable(np.asarray(start, dtype="float32"))
    out = []
    for gradient in np.asarray(gradients, dtype="float32"):
        optimizer.apply_gradients([(tf.convert_to_tensor(gradient), variable)])
        out.append(np.array(variable.numpy()))
    return np.stack(out)


def _layer_kinds(model):
    """The class names of every layer inside ``model``, nested models and blocks included, as Keras tracks them."""
    flatten = getattr(model, "_flatten_layers", None)
    if callable(flatten):
        return [type(layer).__name__ for layer in flatten(include_self=False, recursive=True)]
    kinds = []
    for layer in getattr(model, "layers", None) or []:
        kinds.append(type(layer).__name__)
        kinds += _layer_kinds(layer) if getattr(layer, "layers", None) else []
    return kinds


def _epochs(ds, epochs=2, max_items=100_000):
    """Iterate ``ds`` (``(x, y)`` batches) ``epochs`` times: per epoch x and y stacked, and the batch sizes."""
    import numpy as np

    out = []
    for _ in range(int(epochs)):
        xs, ys, sizes = [], [], []
        for batch in ds:
            x, y = batch[0], batch[1]
            xs.append(np.asarray(x))
            ys.append(np.asarray(y))
            sizes.append(len(xs[-1]))
            if sum(sizes) > max_items:
                raise RuntimeError(f"the dataset yields more than {max_items} examples per pass")
        out.append({"x": np.concatenate(xs) if xs else np.zeros((0,)),
                    "y": np.concatenate(ys) if ys else np.zeros((0,)),
                    "sizes": np.asarray(sizes, dtype="int64")})
    return out


def _drain(ds):
    """One pass over ``ds``, keeping nothing: the number of examples (of the first element of each batch)."""
    n = 0
    for batch in ds:
        first = batch[0] if isinstance(batch, (tuple, list)) else batch
        n += int(first.shape[0])
    return n


def _make_and_project(make, projection, *args, **kwargs):
    """``make(*args, **kwargs)`` then one pass over what it made: a loader's whole cost, from files to batches.

    Each image is brought back as its dot product with ``projection`` (the judge's random vector, new each
    pass): a few bytes that only the files' own pixels give, so a pass that yields remembered images fails.
    """
    import numpy as np

    projection = np.asarray(projection, dtype=np.float64)
    out = []
    for batch in make(*args, **kwargs):
        images = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch, dtype=np.float64)
        out.append(images.reshape(len(images), -1) @ projection)
    return np.concatenate(out) if out else np.zeros(0)


def _image_loop(folder, image_size, channels=3):
    """The naive loader a pipeline is measured against: each file read, decoded and resized with TensorFlow's
    own ops, one at a time, in a Python loop (what a first loader looks like)."""
    import numpy as np
    import tensorflow as tf

    images = []
    classes = sorted(d for d in _os.listdir(folder) if _os.path.isdir(_os.path.join(folder, d)))
    for name in classes:
        for f in sorted(_os.listdir(_os.path.join(folder, name))):
            raw = tf.io.read_file(_os.path.join(folder, name, f))
            image = tf.io.decode_image(raw, channels=int(channels), expand_animations=False)
            images.append(tf.image.resize(tf.cast(image, tf.float32), (image_size, image_size)).numpy() / 255.0)
    return len(np.stack(images)) if images else 0


def _two_head(image_shape, num_classes=5, seed=0):
    """A compiled model with inputs {"image", "scale"} and outputs {"pose" (softmax), "yaw"}."""
    import keras

    keras.utils.set_random_seed(int(seed))
    image = keras.Input(shape=tuple(image_shape), name="image")
    scale = keras.Input(shape=(1,), name="scale")
    h = keras.layers.Conv2D(4, 3, activation="relu")(image)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Concatenate()([h, scale])
    pose = keras.layers.Dense(int(num_classes), activation="softmax", name="pose")(h)
    yaw = keras.layers.Dense(1, name="yaw")(h)
    model = keras.Model({"image": image, "scale": scale}, {"pose": pose, "yaw": yaw})
    model.compile(optimizer="adam", loss={"pose": "sparse_categorical_crossentropy", "yaw": "mse"})
    return model


def _echo(first, *rest, **kwargs):
    return first


_PROBES: dict = {
    "gated": _Gated, "echo": lambda: _echo, "mlp": _mlp, "dataset": _dataset,
    "gradient": lambda: _gradient, "in_dense": lambda: _in_dense, "epochs": lambda: _epochs,
    "drain": lambda: _drain, "make_and_project": lambda: _make_and_project, "image_loop": lambda: _image_loop,
    "two_head": _two_head, "optimiser_steps": lambda: _optimiser_steps, "layer_kinds": lambda: _layer_kinds,
}


class _Agent:
    MAX_ITEMS = 1000

    def __init__(self, namespace):
        self.ns = namespace
        self.refs = {}
        self.next_ref = 1

    # -- values in and out --------------------------------------------------

    def _decode(self, enc, folder):
        t = enc["t"]
        if t == "json":
            return enc["v"]
        if t == "array":
            import numpy as np

            # Mapped, not read: a large input costs the call nothing until it is used (copy-on-write, so the
            # function may change it), and it is a plain ndarray to the student's code.
            return np.load(_os.path.join(folder, enc["file"]), mmap_mode="c", allow_pickle=False).view(np.ndarray)
        if t == "ref":
            return self.refs[enc["id"]]
        if t in ("list", "tuple"):
            items = [self._decode(e, folder) for e in enc["items"]]
            return items if t == "list" else tuple(items)
        if t == "dict":
            return {k: self._decode(v, folder) for k, v in enc["items"].items()}
        raise ValueError(f"unknown argument encoding {t!r}")

    def _encode(self, value, out, counter, depth=0):
        """``out`` is (folder, prefix): arrays are written there as prefix + "outN.npy"."""
        import numpy as np

        if value is None or isinstance(value, (bool, int, float, str)):
            return {"t": "json", "v": value}
        module = type(value).__module__ or ""
        if isinstance(value, np.generic):
            value = np.asarray(value)
        elif module.startswith("tensorflow") and hasattr(value, "numpy") and hasattr(value, "dtype"):
            value = np.asarray(value.numpy())
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
            counter[0] += 1
            name = f"{out[1]}out{counter[0]}.npy"
            np.save(_os.path.join(out[0], name), value, allow_pickle=False)
            return {"t": "array", "file": name}
        if depth < 4 and isinstance(value, (list, tuple)) and len(value) <= self.MAX_ITEMS:
            return {"t": "list", "items": [self._encode(v, out, counter, depth + 1) for v in value]}
        plain_dict = isinstance(value, dict) and all(isinstance(k, str) for k in value)
        if depth < 4 and plain_dict and len(value) <= self.MAX_ITEMS:
            return {"t": "dict", "items": {k: self._encode(v, out, counter, depth + 1) for k, v in value.items()}}
        ref = self.next_ref
        self.next_ref += 1
        self.refs[ref] = value
        return {"t": "ref", "id": ref, "type": f"{module}.{type(value).__qualname__}"}

    def _target(self, target):
        if "name" in target:
            if target["name"] not in self.ns:
                raise NameError(f"name {target['name']!r} is not defined")
            obj = self.ns[target["name"]]
        else:
            obj = self.refs[target["ref"]]
        for part in filter(None, target.get("attr", "").split(".")):
            obj = getattr(obj, part)
        return obj

    # -- operations ---------------------------------------------------------

    def _invoke(self, fn, call, then, folder):
        args = [self._decode(a, folder) for a in call.get("args", [])]
        kwargs = {k: self._decode(v, folder) for k, v in call.get("kwargs", {}).items()}
        value = fn(*args, **kwargs)
        if then:
            method = getattr(value, then["attr"])
            then_kwargs = {k: self._decode(v, folder) for k, v in then.get("kwargs", {}).items()}
            value = [value, method(*[self._decode(a, folder) for a in then.get("args", [])], **then_kwargs)]
        return value

    def op_call(self, req, folder):
        """``target(*args, **kwargs)``; with ``then``, also that method of the answer, in the same request."""
        return self._invoke(self._target(req["target"]), req, req.get("then"), folder), []

    def op_calls(self, req, folder):
        """``op_call`` once for each of ``req["each"]`` (args and kwargs) in turn: the list of answers."""
        fn = self._target(req["target"])
        return [self._invoke(fn, call, req.get("then"), folder) for call in req["each"]], []

    def op_get(self, req, folder):
        return self._target(req["target"]), []

    def op_make(self, req, folder):
        params = {k: self._decode(v, folder) for k, v in req.get("params", {}).items()}
        return _PROBES[req["probe"]](**params), []

    def op_config(self, req, folder):
        obj = self._target(req["target"])
        if hasattr(obj, "to_json"):
            return {"json": obj.to_json()}, []
        return {"json": _json.dumps(obj.get_config(), default=repr)}, []

    def op_seed(self, req, folder):
        import random
        import sys

        if "keras" in sys.modules or "tensorflow" in sys.modules:
            import keras  # seeds Python's random, NumPy and the backend in one call

            keras.utils.set_random_seed(req["seed"])
        else:  # a kernel without TensorFlow does not pay seconds to import it for a seed
            import numpy as np

            random.seed(req["seed"])
            np.random.seed(req["seed"])
        return None, []

    def op_determinism(self, req, folder):
        from tensorflow.python.framework import config  # the public API can turn it on, not off again

        if req["on"]:
            config.enable_op_determinism()
        else:
            config.disable_op_determinism()
        return config.is_op_determinism_enabled(), []

    def op_devices(self, req, folder):
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices()], []

    def op_free(self, req, folder):
        for ref in req.get("refs", []):
            self.refs.pop(ref, None)
        return None, []

    def serve(self, request_folder, out_folder, prefix):
        """Answer the request in ``request_folder`` (the grader's, read-only here) into ``out_folder``."""
        # Whatever the notebook did with os.chdir, the judge's relative paths mean the notebook's folder.
        _os.chdir(_os.path.dirname(out_folder))
        with open(_os.path.join(request_folder, "request.json")) as f:
            req = _json.load(f)
        _os.makedirs(out_folder, exist_ok=True)
        try:
            value, _ = getattr(self, "op_" + req["op"])(req, request_folder)
            response = {"ok": True, "value": self._encode(value, (out_folder, prefix), [0])}
        except BaseException as e:  # the submission's own errors, reported to the judge
            tb = _traceback.format_exception(type(e), e, e.__traceback__)
            response = {"ok": False, "error": {"type": type(e).__name__, "message": str(e)[:2000],
                                               "traceback": "".join(tb)[-4000:]}}
        tmp = _os.path.join(out_folder, prefix + "response.json.tmp")
        with open(tmp, "w") as f:
            _json.dump(response, f)
        _os.replace(tmp, _os.path.join(out_folder, prefix + "response.json"))


#: The agent, answering for the notebook's namespace (``__user_ns__``, set by the code that installs this module).
AGENT = _Agent(__user_ns__)  # type: ignore[name-defined]  # noqa: F821

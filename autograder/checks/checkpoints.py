"""Keras checkpoints read and written by the grader as data: a ``.keras`` file's weights, never its code.

A ``.keras`` file is a zip of ``config.json``, ``metadata.json`` and
``model.weights.h5``. The grader reads the weights with h5py (arrays only:
nothing in the file is unpickled or run) in the order of the layers in
``config.json``, and can write a copy with weights of its own choosing, so
that a hidden test can tell a ``load_model`` that reads the file from one
that hands back a model from memory. A file that is not such a zip, or whose
weights are not where Keras puts them, fails with a message for the student.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WEIGHTS = "model.weights.h5"
#: The largest member of a .keras file the grader reads (the course's models are a few MB).
MAX_MEMBER_BYTES = 64 * 2**20


def _members(data: bytes, what: str) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise AssertionError(f"{what} is not a Keras model file (a .keras file is a zip); use model.save(path)") \
            from None
    with archive:
        found = {}
        for info in archive.infolist():
            if info.filename in ("config.json", WEIGHTS):
                if info.file_size > MAX_MEMBER_BYTES:
                    raise AssertionError(f"{what}: {info.filename} is {info.file_size:,} bytes, far more than a "
                                         "model of this size needs")
                found[info.filename] = archive.read(info)
    missing = {"config.json", WEIGHTS} - found.keys()
    if missing:
        raise AssertionError(f"{what} holds no {', '.join(sorted(missing))}: it is not a Keras model file; use "
                             "model.save(path)")
    return found


def _snake_case(name: str) -> str:
    """A class name as Keras names its layer's group in the weights file (``keras.src.utils.naming``)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_groups(config_json: bytes, what: str) -> list[str]:
    """The groups of the model's layers in its weights file, in order.

    Keras names them by class, not by the layers' own names (which differ
    from one model to the next): ``dense``, ``dense_1``, ... in the order of
    the model's layers (``saving_lib._save_container_state``).
    """
    try:
        config = json.loads(config_json)
        classes = [str(layer["class_name"]) for layer in config["config"]["layers"]]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"{what}: its config.json does not describe a Keras model's layers") from None
    used: dict[str, int] = {}
    groups = []
    for cls in classes:
        name = _snake_case(cls)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        groups.append(name)
    return groups


def _variables(h5file, names: list[str]) -> list[tuple[str, list[str]]]:
    """(layer name, its variables' dataset paths in order) for each layer of ``names`` that has weights."""
    found = []
    group = h5file.get("layers")
    for name in names:
        layer = group.get(name) if group is not None else None
        variables = layer.get("vars") if layer is not None else None
        if variables is not None and len(variables):
            paths = sorted(variables, key=int)
            found.append((name, [f"layers/{name}/vars/{p}" for p in paths]))
    return found


def keras_weights(data: bytes, what: str) -> list[np.ndarray]:
    """The weights in a ``.keras`` file's bytes, layer by layer as ``get_weights()`` lists them.

    Raises AssertionError (a message for the student, naming ``what``) for a file that is not a Keras model.
    """
    import h5py

    members = _members(data, what)
    names = _layer_groups(members["config.json"], what)
    try:
        with h5py.File(io.BytesIO(members[WEIGHTS]), "r") as h5file:
            return [np.asarray(h5file[path][()]) for _, paths in _variables(h5file, names) for path in paths]
    except (OSError, KeyError, ValueError):
        raise AssertionError(f"{what}: its weights file cannot be read as Keras writes it") from None


def with_weights(data: bytes, weights: list[np.ndarray], what: str) -> bytes:
    """A copy of a ``.keras`` file's bytes holding ``weights`` (same shapes, the order of ``keras_weights``)."""
    import h5py

    members = _members(data, what)
    names = _layer_groups(members["config.json"], what)
    with tempfile.TemporaryDirectory(prefix="dlgrade-keras-") as tmp:
        path = Path(tmp) / WEIGHTS
        path.write_bytes(members[WEIGHTS])
        with h5py.File(path, "r+") as h5file:
            paths = [p for _, ps in _variables(h5file, names) for p in ps]
            if len(paths) != len(weights):
                raise AssertionError(f"{what} holds {len(paths)} weight arrays; this model has {len(weights)}")
            for dataset, values in zip(paths, weights, strict=True):
                h5file[dataset][...] = values
        rewritten = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, rewritten if info.filename == WEIGHTS else source.read(info))
    return out.getvalue()

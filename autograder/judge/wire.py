"""What crosses between the judge and the kernel agent: requests and answers as JSON and ``.npy`` files.

Only data crosses. The judge writes ``request.json`` and ``.npy`` arguments
into the sandbox's inbox (read-only inside); the agent answers into the
kernel's own folder, which the judge reads without following links
(``sandbox.files``), with ``np.load(allow_pickle=False)``, within byte caps.
Anything that is not an array or JSON stays in the kernel as a numbered
``Remote``. Every answer is untrusted: each field is checked here.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
from typing import Any, Protocol

import numpy as np

from autograder.errors import ErrorKind, SubmissionError

MAX_RESPONSE_BYTES = 8 * 2**20
MAX_ARRAY_BYTES = 256 * 2**20  # all the arrays of one answer together
MAX_ITEMS = 10_000
#: The kernel's folder the agent answers into (inside ``work/``).
OUT_DIR = ".dlgrade-out"


class Probe(enum.StrEnum):
    """Helper objects the judge builds in the kernel (``Handle.make``), by the agent's own code.

    Each is built by the agent's own code (``judge/agent/kernel_agent.py``, ``_PROBES``).
    """

    GATED = "gated"  # a function whose calls last as long as the grader holds them (``Handle.gated``)
    ECHO = "echo"  # a function that returns its first argument: a request's cost with nothing computed
    MLP = "mlp"  # a small compiled Keras MLP
    DATASET = "dataset"  # the judge's arrays as a tf.data pipeline of (x, y) batches
    GRADIENT = "gradient"  # d sum f(x) / dx through tf.GradientTape
    IN_DENSE = "in_dense"  # an activation applied inside a Dense layer, with its weights
    EPOCHS = "epochs"  # several passes over a dataset, bringing back what each yielded
    DRAIN = "drain"  # one pass over a dataset keeping nothing
    MAKE_AND_PROJECT = "make_and_project"  # make a dataset, pass over it: each image dotted with the judge's vector
    IMAGE_LOOP = "image_loop"  # the naive image loader a pipeline is timed against
    TWO_HEAD = "two_head"  # a compiled two-input, two-output model
    OPTIMISER_STEPS = "optimiser_steps"  # an optimiser's steps on a variable, from gradients the judge gives
    LAYER_KINDS = "layer_kinds"  # the class names of every layer in a model, nested ones included


class Reader(Protocol):
    """Reads one answer's files (``handle.AnswerReader``): each file's name after ``prefix``, within a byte cap."""

    prefix: str

    def read(self, name: str, max_bytes: int) -> bytearray: ...


@dataclasses.dataclass(frozen=True)
class Remote:
    """An object that lives in the submission's kernel (a model, a dataset), numbered by the agent."""

    id: int
    type: str

    def attr(self, name: str) -> dict:
        """A target for ``Handle.call``/``get``: the attribute (dotted path) ``name`` of this object."""
        return {"ref": self.id, "attr": name}


def unreadable(what: str = "something unreadable") -> SubmissionError:
    """The error for an answer the kernel garbled: a ``SubmissionError`` of kind ``PROTOCOL``."""
    return SubmissionError(f"the kernel sent back {what}", ErrorKind.PROTOCOL)


def encode(value: Any, arrays: dict[str, np.ndarray]) -> dict:
    """An argument as the agent decodes it; arrays are added to ``arrays`` (file name -> array) to be saved."""
    if isinstance(value, Remote):
        return {"t": "ref", "id": value.id}
    if isinstance(value, (np.ndarray, np.generic)):
        name = f"in{len(arrays)}.npy"
        arrays[name] = np.asarray(value)
        return {"t": "array", "file": name}
    if isinstance(value, (list, tuple)):
        return {"t": "list" if isinstance(value, list) else "tuple",
                "items": [encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "items": {k: encode(v, arrays) for k, v in value.items()}}
    json.dumps(value)  # raises for anything that would not cross as data
    return {"t": "json", "v": value}


def _array(data: bytearray) -> np.ndarray:
    """An ``.npy`` file's array laid over its bytes (no copy); never an object array."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"npy version {version}")
        if dtype.hasobject:
            raise ValueError("it holds Python objects")
        count = int(np.prod(shape, dtype=np.int64))
        if len(data) - stream.tell() != count * dtype.itemsize:
            raise ValueError("its size does not match its header")
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    except ValueError as e:
        raise SubmissionError(f"the result is not a plain numeric array ({e})", ErrorKind.PROTOCOL) from None
    return flat.reshape(shape, order="F" if fortran else "C")


def decode(enc: Any, reader: Reader, depth: int = 0) -> Any:
    """An answer's value: JSON, arrays read through ``reader``, lists and dicts of them, or ``Remote``s.

    Raises ``SubmissionError`` (kind ``PROTOCOL``) for anything malformed.
    """
    if not isinstance(enc, dict) or "t" not in enc or depth > 8:
        raise unreadable()
    kind = enc["t"]
    if kind == "json":
        return enc.get("v")
    if kind == "array":
        name = str(enc.get("file", ""))
        if "/" in name or not name.startswith(reader.prefix) or not name.endswith(".npy"):
            raise unreadable("a bad file name")
        return _array(reader.read(name[len(reader.prefix):], MAX_ARRAY_BYTES))
    if kind in ("list", "dict"):
        items = enc.get("items")
        if kind == "list" and isinstance(items, list) and len(items) <= MAX_ITEMS:
            return [decode(e, reader, depth + 1) for e in items]
        if kind == "dict" and isinstance(items, dict) and len(items) <= MAX_ITEMS:
            return {str(k): decode(v, reader, depth + 1) for k, v in items.items()}
        raise unreadable()
    if kind == "ref":
        return Remote(int(enc["id"]), str(enc.get("type", "?"))[:200])
    raise unreadable(f"an unknown kind {str(kind)[:50]!r}")

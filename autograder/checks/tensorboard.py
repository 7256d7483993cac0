"""Read TensorBoard event files the submission wrote, in the grader, without TensorFlow.

Event files are TFRecord files of ``Event`` protocol buffers; parsing them
here means a submission cannot fake what its logs contain by patching code.
"""

from __future__ import annotations

import struct

import numpy as np


def records(data: bytes):
    """The payloads of a TFRecord file (length-prefixed, CRCs not checked)."""
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        start = pos + 12
        if start + length + 4 > len(data):
            return  # a truncated last record: what came before still counts
        yield data[start:start + length]
        pos = start + length + 4


#: Points kept per tag of one file: a training's logs hold one per epoch (or per batch), a forged file millions.
MAX_POINTS = 10_000


def scalars(data: bytes, max_points: int = MAX_POINTS) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` for the scalar summaries in one event file, the first ``max_points`` of
    each tag; parsing stops once every tag seen has that many (a file of millions of records costs no more)."""
    from tensorboard.compat.proto import event_pb2, types_pb2

    found: dict[str, list[tuple[int, float]]] = {}
    for payload in records(data):
        if found and min(map(len, found.values())) >= max_points:
            break
        event = event_pb2.Event()
        try:
            event.ParseFromString(payload)
        except Exception:
            continue
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            number = _number(value, types_pb2)
            if number is None:
                continue
            points = found.setdefault(value.tag, [])
            if len(points) < max_points:
                points.append((int(event.step), number))
    return found


def _number(value, types_pb2) -> float | None:
    """A summary value's scalar: a ``simple_value``, or the first of a float or double tensor; else None."""
    if value.HasField("simple_value") or value.WhichOneof("value") == "simple_value":
        return float(value.simple_value)
    if not value.HasField("tensor"):
        return None
    t = value.tensor
    if t.dtype == types_pb2.DT_FLOAT:
        return float(t.float_val[0]) if t.float_val else (
            float(np.frombuffer(t.tensor_content, "<f4")[0]) if len(t.tensor_content) >= 4 else None)
    if t.dtype == types_pb2.DT_DOUBLE:
        return float(t.double_val[0]) if t.double_val else (
            float(np.frombuffer(t.tensor_content, "<f8")[0]) if len(t.tensor_content) >= 8 else None)
    return None

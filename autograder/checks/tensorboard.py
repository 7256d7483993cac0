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


def scalars(data: bytes) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` for the scalar summaries in one event file."""
    from tensorboard.compat.proto import event_pb2, types_pb2

    found: dict[str, list[tuple[int, float]]] = {}
    for payload in records(data):
        event = event_pb2.Event()
        try:
            event.ParseFromString(payload)
        except Exception:
            continue
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            number = None
            if value.HasField("simple_value") or value.WhichOneof("value") == "simple_value":
                number = value.simple_value
            elif value.HasField("tensor"):
                t = value.tensor
                if t.dtype == types_pb2.DT_FLOAT:
                    number = t.float_val[0] if t.float_val else (
                        np.frombuffer(t.tensor_content, "<f4")[0] if len(t.tensor_content) >= 4 else None)
                elif t.dtype == types_pb2.DT_DOUBLE:
                    number = t.double_val[0] if t.double_val else (
                        np.frombuffer(t.tensor_content, "<f8")[0] if len(t.tensor_content) >= 8 else None)
            if number is not None:
                found.setdefault(value.tag, []).append((int(event.step), float(number)))
    return found

"""Hidden data and timed inputs: every salt its own stream, and timed inputs that no one can replay.

An assignment id, question and salt that share their first bytes once shared
one generator (``a1/q1/timed`` and ``a1/q1/tiles``), and a question had about
9,000 possible seeds: a kernel could find its own from one operand and
compute every later one. Event files of millions of records cost the grader
no more than a training's few.
"""

import struct

import numpy as np
from support import context

from autograder.checks.tensorboard import MAX_POINTS, scalars


def draws(rng):
    return rng.standard_normal(4).tolist()


def test_salts_that_share_a_prefix_get_streams_of_their_own(tmp_path):
    ctx = context(tmp_path)
    assert draws(ctx.rng("timed")) != draws(ctx.rng("tiles"))
    assert draws(ctx.rng("saxpy1")) != draws(ctx.rng("saxpy200000"))
    assert draws(ctx.rng("timed")) == draws(ctx.rng("timed"))  # hidden data stays the same every time


def test_fresh_inputs_differ_for_every_grading_and_from_the_known_stream(tmp_path):
    one, two = context(tmp_path / "1"), context(tmp_path / "2")
    assert draws(one.fresh_rng("timed")) != draws(two.fresh_rng("timed"))
    assert draws(one.fresh_rng("timed")) != draws(one.rng("timed"))


def _event(step: int, value: float) -> bytes:
    from tensorboard.compat.proto import event_pb2

    event = event_pb2.Event(step=step)
    event.summary.value.add(tag="epoch_loss", simple_value=value)
    payload = event.SerializeToString()
    return struct.pack("<Q", len(payload)) + b"\0" * 4 + payload + b"\0" * 4


def test_an_event_file_of_many_records_is_read_no_further_than_the_cap():
    data = b"".join(_event(k, 1.0 / (k + 1)) for k in range(3 * MAX_POINTS))
    points = scalars(data)["epoch_loss"]
    assert len(points) == MAX_POINTS and points[:2] == [(0, 1.0), (1, 0.5)]
    assert np.isclose(points[-1][1], 1.0 / MAX_POINTS)

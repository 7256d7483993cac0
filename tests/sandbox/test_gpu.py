"""GPU pass-through: with a GPU on the host, TensorFlow inside the sandbox must see it."""

import json

import pytest

from autograder.sandbox.kernel import Sandbox
from autograder.spec import Limits

pytestmark = [pytest.mark.gpu, pytest.mark.bwrap, pytest.mark.kernel]

PROBE = (
    "import json, os\n"
    "import tensorflow as tf\n"
    "gpus = tf.config.list_physical_devices('GPU')\n"
    "x = tf.random.normal((2048, 2048))\n"
    "with tf.device('/GPU:0' if gpus else '/CPU:0'):\n"
    "    y = tf.reduce_sum(tf.matmul(x, x)).numpy()\n"
    "print(json.dumps({'gpus': len(gpus), 'nodes': sorted(d for d in os.listdir('/dev') if d.startswith('nvidia'))}))"
)


def _probe(gpu: bool) -> dict:
    with Sandbox(Limits(cell_timeout=300, memory_mb=32_000, max_processes=4096), gpu=gpu, isolate=True) as sb:
        run = sb.run(PROBE, timeout=300)
        assert run.ok, run.error_line()
        return json.loads("".join(o.get("text", "") for o in run.outputs if o["output_type"] == "stream"))


def test_tensorflow_sees_the_gpu_inside_the_sandbox():
    seen = _probe(gpu=True)
    assert seen["gpus"] >= 1 and "nvidiactl" in seen["nodes"]


def test_without_pass_through_the_sandbox_has_no_gpu():
    seen = _probe(gpu=False)
    assert seen == {"gpus": 0, "nodes": []}

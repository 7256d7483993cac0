"""What a kernel starts with: its environment variables, and the code run in it before any submission code.

Nothing of the grader's environment leaks into a kernel: ``kernel_env`` is
the whole of it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.spec import Limits

#: Run in a kernel by ``Sandbox.preload``: a dataset whose code leaves ``options.autotune.enabled`` unset is
#: iterated with tf.data's autotuning off (an explicit choice, either way, stands). Why: each autotuned
#: iterator has a thread that tunes it on a timer, and with TensorFlow 2.21 the iterator's end waits for
#: that timer (20-40 ms). Keras makes an iterator per epoch: a 20-epoch fit of the digits MLP spent 0.54
#: of its 3.7 s so, every thread of the kernel asleep; two kernels side by side left the cores idle a
#: sixth of their time (``benchmarks/tf_data_autotune.py``). With a core's share per kernel, autotuning
#: has little to tune: AUTOTUNE parallelism becomes the cores' count and prefetch buffers keep their own
#: sizing. Only if TensorFlow is already imported (the spec's ``preload``); the hook is the one that
#: ``tf.data.experimental.enable_debug_mode`` uses, and leaves no name behind.
TF_DATA_DEFAULTS = """
def __dlg():
    import sys
    ops = sys.modules.get("tensorflow.python.data.ops.dataset_ops")
    plain = getattr(getattr(ops, "DatasetV2", None), "_apply_debug_options", None)
    if plain is None or getattr(plain, "dlgrade", False):
        return
    from tensorflow.python.data.ops import options as options_lib

    def _apply_debug_options(self):
        dataset = plain(self)
        chosen = getattr(getattr(dataset, "_options_attr", None), "autotune", None)
        if chosen is not None and chosen.enabled is None:
            off = options_lib.Options()
            off.autotune.enabled = False
            dataset = dataset.with_options(off)
        return dataset

    _apply_debug_options.dlgrade = True
    ops.DatasetV2._apply_debug_options = _apply_debug_options
try:
    __dlg()
except Exception:  # a TensorFlow without this hook: its defaults stay
    pass
del __dlg
"""


def kernel_env(limits: Limits, threads: int, gpu: bool, home: str) -> dict[str, str]:
    """A kernel's whole environment.

    ``threads`` caps the numerical libraries' thread pools (TensorFlow, BLAS,
    OpenMP) when several kernels share the cores; 0 leaves them as many as
    there are cores. ``home`` is the kernel's HOME: Keras, matplotlib and
    IPython write caches there.
    """
    env = {
        "HOME": home,
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    if threads:
        # Parallel kernels on a few cores: each gets its share instead of all of them (oversubscribed
        # thread pools make small models train slower, not faster).
        n = str(threads)
        env.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
                   TF_NUM_INTRAOP_THREADS=n, TF_NUM_INTEROP_THREADS=n)
    if gpu and os.environ.get("LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    if not gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def preload_code(limits: Limits) -> str:
    """Code for a fresh kernel: import the spec's ``preload`` modules and set ``TF_DATA_DEFAULTS``; may be empty.

    A module that fails to import is left for the submission's own import to
    report. ``__import__`` binds no name: the submission starts with an empty
    namespace all the same.
    """
    code = ""
    if limits.preload:
        code = (f"for __dlg in {list(limits.preload)!r}:\n"
                "    try:\n        __import__(__dlg)\n    except Exception:\n        pass\ndel __dlg\n")
    if not limits.tf_data_autotune:
        code += TF_DATA_DEFAULTS
    return code

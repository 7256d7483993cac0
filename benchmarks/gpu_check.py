"""GPU checks for a machine with an NVIDIA GPU: pass-through into the sandbox, and the course's benchmark.

1. What hardware.py detects (GPUs, device nodes, driver folders).
2. The "why GPUs" benchmark, side by side in one run: NumPy's matmul against
   the GPU framework's (TensorFlow where installed, else PyTorch or CuPy) at
   n = 1024, 4096, 5000, and saxpy at n = 200,000 as a Python loop against the
   framework. Warm-up excluded, results forced to the host, medians of repeats.
3. The sandbox with GPU pass-through on and off: which device nodes the kernel
   sees and whether the framework inside finds the GPU, with a matmul timed
   inside the sandbox against the same matmul outside.

    python benchmarks/gpu_check.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from autograder import hardware  # noqa: E402
from autograder.sandbox.jail import bubblewrap_status  # noqa: E402
from autograder.sandbox.kernel import Sandbox  # noqa: E402
from autograder.spec import Limits  # noqa: E402

FRAMEWORK_CODE = r'''
import json, os, time
import numpy as np

def _framework():
    try:
        import tensorflow as tf
        gpu = bool(tf.config.list_physical_devices("GPU"))
        def mm(a, b):
            return tf.matmul(a, b).numpy()
        def mm_sync(a, b):
            return float(tf.reduce_sum(tf.matmul(a, b)).numpy())
        def put(x):
            return tf.constant(x)
        return "tensorflow", gpu, mm, mm_sync, put
    except ImportError:
        pass
    try:
        import torch
        gpu = torch.cuda.is_available()
        dev = "cuda" if gpu else "cpu"
        def mm(a, b):
            return (a @ b).cpu().numpy()
        def mm_sync(a, b):
            return float((a @ b).sum().item())
        def put(x):
            return torch.from_numpy(x).to(dev)
        return "torch", gpu, mm, mm_sync, put
    except ImportError:
        pass
    import cupy
    def mm(a, b):
        return cupy.asnumpy(a @ b)
    def mm_sync(a, b):
        return float((a @ b).sum())
    return "cupy", cupy.cuda.runtime.getDeviceCount() > 0, mm, mm_sync, cupy.asarray

def _median_time(fn, repeats=5, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)

import statistics
NAME, GPU, MM, MM_SYNC, PUT = _framework()

def matmul_figures(sizes):
    rng = np.random.default_rng(0)
    out = {}
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32); b = rng.standard_normal((n, n), dtype=np.float32)
        ta, tb = PUT(a), PUT(b)
        t_np = _median_time(lambda: np.matmul(a, b), repeats=3, warmup=1)
        t_fw = _median_time(lambda: MM(ta, tb))
        t_sync = _median_time(lambda: MM_SYNC(ta, tb))
        # Forcing the result by copying it to the host times the copy too; a
        # reduction to one number forces the work with almost no transfer.
        out[n] = {"numpy_ms": 1e3 * t_np, NAME + "_copy_ms": 1e3 * t_fw, NAME + "_sync_ms": 1e3 * t_sync,
                  "speedup_copy": t_np / t_fw, "speedup_sync": t_np / t_sync}
    return out
'''


def outside() -> dict:
    ns: dict = {}
    exec(FRAMEWORK_CODE, ns)
    figures = {"framework": ns["NAME"], "gpu": ns["GPU"], "matmul": ns["matmul_figures"]((1024, 4096, 5000))}
    n = 200_000
    x = np.random.default_rng(1).standard_normal(n).astype("float32")
    y = np.ones_like(x)

    def loop():
        out = np.empty_like(x)
        for i in range(n):
            out[i] = 2.0 * x[i] + y[i]
        return out

    tx, ty = ns["PUT"](x), ns["PUT"](y)
    put_back = (lambda r: r.numpy()) if ns["NAME"] == "tensorflow" else (
        (lambda r: r.cpu().numpy()) if ns["NAME"] == "torch" else (lambda r: r.get()))
    t_loop = ns["_median_time"](loop, repeats=3, warmup=0)
    t_vec = ns["_median_time"](lambda: put_back(2.0 * tx + ty))
    figures["saxpy_200k"] = {"loop_ms": 1e3 * t_loop, "vectorised_ms": 1e3 * t_vec, "speedup": t_loop / t_vec}
    return figures


def inside(gpu: bool) -> dict:
    probe = FRAMEWORK_CODE + r'''
nodes = sorted(d for d in os.listdir("/dev") if d.startswith("nvidia"))
print("@@" + json.dumps({"uid": os.getuid(), "dev_nvidia": nodes, "framework": NAME, "gpu": GPU,
                         "matmul": matmul_figures((4096,)) if GPU else None}))
'''
    with Sandbox(Limits(cell_timeout=300, memory_mb=64_000, max_processes=4096), gpu=gpu) as sb:
        run = sb.run(probe, timeout=300)
        text = "".join(o.get("text", "") for o in run.outputs if o.get("output_type") == "stream")
        if not run.ok or "@@" not in text:
            return {"error": run.error_line(), "log": sb.log_tail(800)}
        return json.loads(text.split("@@", 1)[1].splitlines()[0])


def main() -> None:
    report = {"machine": hardware.machine(), "fingerprint": hardware.fingerprint(),
              "device_nodes": hardware.gpu_device_nodes(), "driver_dirs": hardware.gpu_library_dirs(),
              "bubblewrap": bubblewrap_status()}
    print(json.dumps(report, indent=1), flush=True)
    figures = outside()
    print("outside the sandbox:", json.dumps(figures, indent=1), flush=True)
    for gpu in (True, False):
        try:
            result = inside(gpu)
        except Exception as e:  # report and go on: this script is a measurement
            result = {"error": f"{type(e).__name__}: {e}"}
        print(f"inside the sandbox, GPU pass-through {'on' if gpu else 'off'}:", json.dumps(result, indent=1),
              flush=True)


if __name__ == "__main__":
    main()

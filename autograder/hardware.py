"""What machine grades: CPU, cores, memory, GPUs, library versions.

Read from the host without importing TensorFlow (which costs seconds and
grabs GPU memory); the results and reports record it so that speed figures
can be compared only between like machines.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess


def gpu_device_nodes() -> list[str]:
    """NVIDIA device nodes to pass into the sandbox; empty without a GPU."""
    if not os.path.exists("/dev/nvidiactl"):
        return []
    nodes = sorted(glob.glob("/dev/nvidia[0-9]*")) + [
        n for n in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools") if os.path.exists(n)
    ]
    nodes += sorted(glob.glob("/dev/nvidia-caps/*"))
    return nodes


def gpu_library_dirs() -> list[str]:
    """Driver library folders outside /usr that a GPU kernel needs to see."""
    dirs = []
    here = os.path.realpath(os.getcwd())
    for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") + ["/usr/local/nvidia", "/usr/local/cuda"]:
        if not os.path.isabs(d):
            continue  # "." or "" would bind the grader's own folder into the sandbox
        d = os.path.realpath(d)
        system = d.startswith(("/usr/lib", "/usr/bin", "/tmp", "/etc", "/root", "/home"))
        if (os.path.isdir(d) and d != "/" and not system
                and not (here + "/").startswith(d.rstrip("/") + "/") and d not in dirs):
            dirs.append(d)
    return dirs


@functools.lru_cache(maxsize=1)
def gpus() -> list[dict]:
    """The host's NVIDIA GPUs as [{"name", "memory_mb"}]; empty without one."""
    if not gpu_device_nodes() or not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in out.strip().splitlines():
        name, _, mem = line.rpartition(",")
        if name:
            found.append({"name": name.strip(), "memory_mb": int(float(mem.strip() or 0))})
    return found


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def machine() -> dict:
    """The machine's description, as recorded in results and reports."""
    try:
        mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError):
        mem_mb = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_mb": mem_mb,
        "gpus": gpus(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow") or _version("tensorflow-cpu"),
        "keras": _version("keras"),
        "numpy": _version("numpy"),
    }


def fingerprint() -> str:
    """A short id of the machine's speed-relevant parts: timings are comparable only within one."""
    m = machine()
    key = {k: m[k] for k in ("cpu", "cores", "gpus", "tensorflow", "numpy")}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def has_gpu() -> bool:
    """Whether this machine has an NVIDIA GPU (its device nodes)."""
    return bool(gpu_device_nodes())

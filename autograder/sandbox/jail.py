"""The jail: bubblewrap's arguments for a sandbox, and whether bubblewrap works on this machine at all.

A kernel (or any command) runs as an unprivileged uid in its own mount, pid,
network, ipc and uts namespaces. It sees a read-only system (/usr, /etc, the
Python prefix), a private /tmp and /dev/shm, the sandbox's own folders, and
nothing else: not the repository, not the autograder bundle, not other
sandboxes.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import hardware
from autograder.spec import Limits

#: A private /dev/shm, writable: multiprocessing's locks and queues (Keras's image generator, a
#: PyDataset's workers) live there. Capped, since its pages are memory no rlimit counts.
SHM_BYTES = 256 * 2**20


@functools.lru_cache(maxsize=1)
def bubblewrap_status() -> tuple[bool, str]:
    """Whether bubblewrap can make a sandbox here, and why not if it cannot.

    The probe uses the same namespaces and mounts as a real kernel, so a
    machine where, say, mounting /proc is refused is found out here, and
    grading falls back (loudly) instead of failing at every kernel start.
    """
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False, "bubblewrap (bwrap) is not installed; on Debian/Ubuntu: apt-get install bubblewrap"
    if sys.platform != "linux":
        return False, "bubblewrap needs Linux"
    probe = subprocess.run([bwrap, *namespace_args(), *system_binds(), "--", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"bwrap cannot create namespaces here: {probe.stderr.strip()[:300]}"
    return True, "bubblewrap"


def namespace_args() -> list[str]:
    # As root, bwrap needs no user namespace and we drop to an unprivileged uid
    # with setpriv; an ordinary user needs one to get the other namespaces at all.
    """bwrap's namespace flags: everything private, dying with its parent, a new session."""
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", *user,
            "--die-with-parent", "--new-session"]


def system_binds(tmp_mb: int = 64) -> list[str]:
    """The system, read-only (top-level symlinks of a merged /usr recreated), /proc, /dev, a private /tmp.

    /tmp is a tmpfs of ``tmp_mb`` megabytes (without a size bwrap would give it half the machine's memory).
    """
    args: list[str] = []
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "etc"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args + ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(tmp_mb * 2**20),
                   "--tmpfs", "/tmp", "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]


def tmp_mb(limits: Limits) -> int:
    """The private /tmp's size: a quarter of the spec's disk; the working folder has the rest (see ``host``)."""
    return max(16, limits.disk_mb // 4)


def python_roots() -> list[Path]:
    """Folders the kernel's interpreter needs: the venv prefix and the base install."""
    roots: list[Path] = []
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        path = Path(p).resolve()
        if not any(path == r or r in path.parents for r in roots):
            roots.append(path)
    real_exe = Path(sys.executable).resolve()
    if not any(r in real_exe.parents for r in roots):
        roots.append(real_exe.parent.parent)
    return sorted(roots)


def rlimits(limits: Limits) -> dict[str, int]:
    """The kernel's rlimits by ``resource`` name: set by prlimit (exec'd) or by the fork itself (zygote)."""
    return {"RLIMIT_NPROC": limits.max_processes, "RLIMIT_DATA": limits.memory_mb * 2**20,
            "RLIMIT_FSIZE": limits.max_file_mb * 2**20, "RLIMIT_CORE": 0}


_PRLIMIT_FLAGS = {"RLIMIT_NPROC": "--nproc", "RLIMIT_DATA": "--data", "RLIMIT_FSIZE": "--fsize",
                  "RLIMIT_CORE": "--core"}


def limits_prefix(limits: Limits) -> list[str]:
    """``prlimit`` with the kernel's rlimits, ending in ``--``: put before a program's argv."""
    return ["prlimit", *(f"{_PRLIMIT_FLAGS[name]}={value}" for name, value in rlimits(limits).items()), "--"]


def _mkdirs(path: Path, made: set[Path]) -> list[str]:
    # bwrap creates missing parents of a bind point itself, but mode 0700;
    # the unprivileged kernel could not walk through them.
    out: list[str] = []
    for p in [*reversed(path.parents), path]:
        if p in made or p.is_symlink():
            continue
        made.add(p)
        if str(p).startswith(("/usr", "/etc", "/proc", "/dev")):
            continue
        out += ["--perms", "0755", "--dir", str(p)]
    return out


def jail_argv(*, root: Path, workdir: Path, inbox: Path, env: dict[str, str], limits: Limits, uid: int,
              gpu: bool, extra_binds: list[str]) -> list[str]:
    """Everything before a program's own argv: bwrap (with ``env`` inside), the limits, the uid.

    ``workdir`` is bound writable and ``inbox`` read-only, both at the same
    path inside and out; ``extra_binds`` are bwrap arguments for more folders
    (a kernel's IPC folder). The folders above ``root`` are made 0755 so the
    unprivileged ``uid`` can reach them.
    """
    args = [shutil.which("bwrap") or "bwrap", *namespace_args(), "--clearenv", "--hostname", "sandbox"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += system_binds(tmp_mb(limits))
    made: set[Path] = {Path("/"), Path("/tmp")}
    for python in python_roots():
        args += _mkdirs(python.parent, made) + ["--ro-bind", str(python), str(python)]
    if gpu:
        for node in hardware.gpu_device_nodes():
            args += ["--dev-bind", node, node]
        args += ["--ro-bind", "/sys", "/sys"]
        for lib in hardware.gpu_library_dirs():
            args += _mkdirs(Path(lib).parent, made) + ["--ro-bind", lib, lib]
    args += _mkdirs(root, made)
    args += ["--bind", str(workdir), str(workdir), "--ro-bind", str(inbox), str(inbox),
             *extra_binds, "--chdir", str(workdir)]
    args += ["--", *limits_prefix(limits)]
    if uid != os.geteuid():
        args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    return args


def memory_bytes(limits: Limits) -> int:
    """A sandbox's memory, counted whole: the kernel's data (``memory_mb``), its disk and /tmp (tmpfs pages are
    memory), its /dev/shm, and room for the interpreter itself."""
    return (limits.memory_mb + limits.disk_mb + 512) * 2**20 + SHM_BYTES

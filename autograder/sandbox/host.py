"""What a sandbox holds on the host: an unprivileged uid, a capped disk, its processes, its folder; the sweep.

Every sandbox is one root-owned folder under /tmp (``dlg-<random>/``) with an
``owner`` file naming its grader's pid and start time, so that the folders
of a grader killed with SIGKILL are found and removed by the next batch
(``sweep_stale``).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from autograder.errors import SandboxError

#: The kernel runs as an unprivileged uid from this range when the grader is
#: root: RLIMIT_NPROC only bites for non-root users, and it counts every
#: process of that uid on the machine, so each sandbox claims a uid of its own
#: (a lock file per uid; no passwd entry needed).
UID_BASE, UID_RANGE = 200_000, 100_000


def claim_uid() -> tuple[int, int]:
    """An unprivileged uid no other sandbox on this machine holds, and the lock (a descriptor) that holds it.

    Raises ``SandboxError`` when none is free.
    """
    locks = Path(tempfile.gettempdir()) / ".dlgrade-uids"
    locks.mkdir(mode=0o700, exist_ok=True)
    for _ in range(1000):
        uid = UID_BASE + secrets.randbelow(UID_RANGE)
        fd = os.open(locks / str(uid), os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if not processes_of(uid):
            return uid, fd
        os.close(fd)
    raise SandboxError("no free uid for a sandbox")


def processes_of(uid: int) -> list[psutil.Process]:
    """Every process on the machine whose real uid is ``uid``."""
    found = []
    for p in psutil.process_iter(["uids"]):
        try:
            if p.info["uids"] and p.info["uids"].real == uid:
                found.append(p)
        except psutil.Error:
            pass
    return found


def reap_uid(uid: int) -> None:
    """Wait (killing) until no process runs as ``uid``.

    Killing bwrap's init ends its pid namespace, but the kernel of the host
    does that asynchronously: a process the submission started may still be
    dying when ``kill_tree`` returns, and it counts against the uid's
    RLIMIT_NPROC until it is gone.
    """
    if uid == os.geteuid():
        return
    for _ in range(100):
        left = processes_of(uid)
        if not left:
            return
        for p in left:
            try:
                p.kill()
            except psutil.Error:
                pass
        time.sleep(0.05)


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and everything it started, and reap it.

    Under bubblewrap that is the whole sandbox: bwrap's pid namespace dies with
    its init, and --die-with-parent makes that init die with bwrap. Without
    bwrap we collect the process tree ourselves.
    """
    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    for p in [proc, *tree]:
        try:
            p.kill() if isinstance(p, psutil.Process) else os.kill(p.pid, signal.SIGKILL)
        except (ProcessLookupError, psutil.Error):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def remove_tree(path: Path) -> None:
    """Remove a tree the submission wrote: never following links, however deep it is."""
    try:
        shutil.rmtree(path)  # fd-based on Linux: links inside are removed, not followed
    except FileNotFoundError:
        pass
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True)


def mount_disk(workdir: Path, megabytes: int, uid: int) -> bool:
    """A tmpfs of ``megabytes`` at ``workdir``, owned by ``uid``: the kernel's disk, capped. Needs root."""
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700,uid={uid},gid={uid},"
                               "nosuid,nodev", "dlgrade-work", str(workdir)], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def unmount(workdir: Path) -> None:
    """Lazily unmount a sandbox's capped disk, if it is mounted."""
    if os.path.ismount(workdir):
        subprocess.run(["umount", "--lazy", str(workdir)], capture_output=True, timeout=30)


def owner_mark() -> str:
    """This process, as a sandbox's owner file names it: pid and start time (pids are reused)."""
    return f"{os.getpid()} {psutil.Process().create_time():.2f}"


def new_folder(prefix: str) -> Path:
    """A fresh root-owned folder ``/tmp/<prefix><random>`` (0700) marked with this process as its owner."""
    # Short paths: IPC socket names inside must fit in 107 bytes.
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    (folder / "owner").write_text(owner_mark())
    return folder


def sweep_stale(tmp: Path = Path("/tmp")) -> int:
    """Remove the folders of sandboxes and zygotes whose grader is gone (killed with SIGKILL, say); how many.

    A live grader's sandboxes are left alone: the owner file in each names its
    process and that process's start time.
    """
    removed = 0
    for folder in tmp.glob("dlg-*"):
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.geteuid():
                continue
            pid, started = (folder / "owner").read_text().split()
        except (OSError, ValueError):
            continue  # not ours, or still being made
        try:
            alive = f"{psutil.Process(int(pid)).create_time():.2f}" == started
        except (psutil.Error, ValueError):
            alive = False
        if not alive:
            unmount(folder / "work")
            remove_tree(folder)
            removed += 1
    return removed

"""Zygotes as the grader sees them: start one, ask it for a kernel, share it with a batch's other processes.

The zygote itself (``zygote_server.py``) is another process: a fresh
interpreter with the spec's ``preload`` imported, forking kernels into
sandboxes on request. Its owner asks through the zygote's stdin; the other
grading processes of one batch ask through its Unix socket, in a folder only
root can enter.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import threading

from autograder import hardware
from autograder.errors import SandboxError
from autograder.sandbox import host
from autograder.sandbox.environment import kernel_env
from autograder.sandbox.jail import bubblewrap_status
from autograder.sandbox.output import read_line
from autograder.spec import Limits

#: The module a zygote runs (``python -m``).
SERVER = "autograder.sandbox.zygote_server"


def zygotes_enabled() -> bool:
    """Whether kernels are forked from a zygote (see zygote.py): as root, unless DLGRADE_ZYGOTE=0."""
    return os.geteuid() == 0 and sys.platform == "linux" and os.environ.get("DLGRADE_ZYGOTE", "1") != "0"


class Zygote:
    """A zygote (``python -m autograder.sandbox.zygote_server``) with ``modules`` imported, making kernels on request.

    Its owner asks through the zygote's stdin; other grading processes of the
    same batch ask through its socket (``SharedZygote``).
    """

    def __init__(self, env: dict[str, str], modules: tuple[str, ...], startup_timeout: float):
        # 0700: only root reaches the socket; swept by sweep_stale once its grader is killed.
        self.home = host.new_folder("dlg-zygote-")
        self.socket = str(self.home / "zygote.sock")
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", SERVER, "--socket", self.socket, *modules],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={**env, "HOME": str(self.home)}, cwd=self.home, start_new_session=True,
        )
        # Imports take a while; the first spawn waits for them.
        self._startup_timeout = startup_timeout
        self._ready = False

    def spawn(self, request: dict) -> int:
        """A kernel forked into the sandbox that ``request`` names; its pid."""
        with self._lock:
            if not self._ready:
                line = read_line(self.proc.stdout, max(self._startup_timeout, 120.0))
                if line is None or not json.loads(line).get("ready"):
                    raise SandboxError("the kernel zygote did not start (set DLGRADE_ZYGOTE=0 to do without)")
                self._ready = True
            try:
                assert self.proc.stdin is not None  # made with stdin=PIPE
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except OSError as exc:
                raise SandboxError(f"the kernel zygote is gone: {exc}") from None
            line = read_line(self.proc.stdout, 60.0)
            if line is None:  # a late answer would be read as the next request's: this zygote is done
                self.proc.kill()
        return _kernel_pid(line)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # it exits at end of input
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


class SharedZygote:
    """Another process's zygote, asked through its socket: one connection, and one request at a time, per spawn."""

    def __init__(self, path: str, startup_timeout: float):
        self.socket = path
        self._timeout = max(startup_timeout, 120.0) + 60.0  # it may still be importing

    def spawn(self, request: dict) -> int:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.connect(self.socket)
                conn.sendall((json.dumps(request) + "\n").encode())
            except OSError as exc:
                raise SandboxError(f"the batch's kernel zygote is gone: {exc}") from None
            return _kernel_pid(read_line(conn, self._timeout))

    @property
    def alive(self) -> bool:
        return os.path.exists(self.socket)

    def close(self) -> None:
        pass  # its owner ends it


def _kernel_pid(line: str | None) -> int:
    reply = json.loads(line) if line else {"error": "no answer in time"}
    if "pid" not in reply:
        raise SandboxError(f"the kernel zygote could not start a kernel: {reply.get('error')}")
    return int(reply["pid"])


_ZYGOTES: dict[str, Zygote] = {}
_SHARED: dict[str, str] = {}  # key -> socket of a zygote another process of this batch owns
_ZYGOTES_LOCK = threading.Lock()


def _zygote_key(env: dict[str, str], modules: tuple[str, ...]) -> str:
    return json.dumps([sorted((k, v) for k, v in env.items() if k != "HOME"), list(modules)])


def zygote_for(env: dict[str, str], modules: tuple[str, ...], startup_timeout: float) -> Zygote | SharedZygote:
    """The zygote for kernels with ``env`` (HOME aside) and ``modules`` preloaded: shared with us, or our own."""
    key = _zygote_key(env, modules)
    with _ZYGOTES_LOCK:
        if key in _SHARED and os.path.exists(_SHARED[key]):
            return SharedZygote(_SHARED[key], startup_timeout)
        zygote = _ZYGOTES.get(key)
        if zygote is None or not zygote.alive:
            zygote = _ZYGOTES[key] = Zygote(env, modules, startup_timeout)
        return zygote


def share_zygote(limits: Limits, threads: int, isolate: bool | None = None) -> dict[str, str]:
    """Start (or keep) this process's zygote for kernels under ``limits`` and ``threads`` (see ``kernel_env``);
    what ``adopt_zygotes`` needs to use it.

    A batch calls this before it starts its grading processes, so that they
    fork their kernels from one zygote instead of importing ``preload`` each.
    Empty where kernels are not forked (not root, no sandbox, a GPU).
    """
    if isolate is False or not bubblewrap_status()[0] or not zygotes_enabled() or hardware.gpu_device_nodes():
        return {}
    env = kernel_env(limits, threads, gpu=False, home="/")
    zygote = zygote_for(env, limits.preload, limits.startup_timeout)
    return {_zygote_key(env, limits.preload): zygote.socket}


def adopt_zygotes(shared: dict[str, str]) -> None:
    """Fork this process's kernels from the zygotes another process shares (``share_zygote``)."""
    with _ZYGOTES_LOCK:
        _SHARED.update(shared)


@atexit.register
def close_zygotes() -> None:
    """End this process's own zygotes (at exit)."""
    with _ZYGOTES_LOCK:
        for zygote in _ZYGOTES.values():
            zygote.close()

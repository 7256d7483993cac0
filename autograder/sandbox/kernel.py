"""``Sandbox``: one Jupyter kernel (or command) in a bubblewrap jail — start, run code, limits, tear down.

jupyter_client's KernelManager is not used on purpose: version 8 silently
ignores ``kernel_cmd``, so a kernel "launched in a sandbox" that way starts on
the host and everything still seems to work. We start the process ourselves
(exec'd by bwrap, or forked into the jail by a zygote) and talk to it with a
plain BlockingKernelClient.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import psutil
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder import hardware
from autograder.errors import SandboxError
from autograder.results import CellStatus
from autograder.sandbox import cgroups, host, jail
from autograder.sandbox.cgroups import Cgroup
from autograder.sandbox.environment import kernel_env, preload_code
from autograder.sandbox.jail import bubblewrap_status
from autograder.sandbox.output import CodeRun, CommandRun, OutputCollector, Tail, client_context, read_line
from autograder.sandbox.zygote import SharedZygote, Zygote, zygote_for, zygotes_enabled
from autograder.spec import Limits


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _sandbox_init(bwrap_pid: int) -> psutil.Process | None:
    """The first process inside a bubblewrap sandbox (pid 1 of its namespace): its namespaces are the sandbox's."""
    try:
        children = psutil.Process(bwrap_pid).children()
    except psutil.Error:
        return None
    return children[0] if children else None


class Sandbox:
    """One kernel, sandboxed. Use as a context manager; ``run`` executes code.

    ``isolate=None`` uses bubblewrap when it works here and otherwise runs the
    kernel unsandboxed with a loud warning; ``self.isolated`` records which.

    On the host a sandbox is one root-owned folder::

        /tmp/dlg-<random>/    root's, 0755
            work/             the kernel's HOME and working folder, writable by it only
            in/               requests from the judge: root's, read-only inside
            ipc-N/            the connection file and sockets of the N-th kernel
            kernel.log

    The grader never writes, chowns or follows a link inside ``work/`` or an
    ``ipc-N/`` a kernel has used; it reads ``work/`` only through descriptors
    opened without following links (``sandbox.files``).
    """

    def __init__(self, limits: Limits | None = None, isolate: bool | None = None, gpu: bool | None = None,
                 zygote: bool | None = None, threads: int = 0):
        self.limits = limits or Limits()
        #: The kernel's numerical thread pools (see ``kernel_env``): a batch's share of the cores per kernel.
        self.threads = threads
        usable, why = bubblewrap_status()
        if isolate and not usable:
            raise SandboxError(f"isolation was required but is not available: {why}")
        self.isolated = usable if isolate is None else isolate
        if self.isolated:
            self.isolation_note = "bubblewrap"
        else:
            self.isolation_note = why if not usable else "turned off on request (--no-sandbox)"
        self.gpu = hardware.gpu_device_nodes() != [] if gpu is None else gpu
        self.root = host.new_folder("dlg-")  # swept by sweep_stale after a grader is killed
        os.chmod(self.root, 0o755)
        self.workdir = self.root / "work"
        self.inbox = self.root / "in"
        self.workdir.mkdir()
        self.inbox.mkdir()
        self._uid_lock = None
        #: Whether the kernel's folder is a tmpfs of ``limits.disk_mb`` (as root), so it cannot fill the disk.
        self.disk_capped = False
        #: The sandbox's control group (memory, tasks, CPU share, freezer), where they can be used.
        self.cgroup: Cgroup | None = None
        if self.isolated and os.geteuid() == 0:
            self.cgroup = Cgroup.create(jail.memory_bytes(self.limits), self.limits.max_processes)
            if self.cgroup is None:
                _warn_once(f"sandboxes get no control group here ({cgroups.status()[1]}): a submission's memory, "
                           "processes and CPU are limited by rlimits alone; the results record it")
            self.uid, self._uid_lock = host.claim_uid()
            # The spec's disk is the working folder and /tmp together (see jail.tmp_mb).
            work_mb = self.limits.disk_mb - jail.tmp_mb(self.limits)
            self.disk_capped = host.mount_disk(self.workdir, max(16, work_mb), self.uid)
            os.chown(self.workdir, self.uid, self.uid)
        else:
            self.uid = os.geteuid()
        self.proc: subprocess.Popen | None = None
        #: Kernels are forked into the jail from a zygote with ``limits.preload`` imported (see zygote.py)
        #: as root and without a GPU; else exec'd in the jail. ``zygote=False`` always execs. The zygote
        #: is found (or started) with the first kernel: a sandbox that only runs commands needs none.
        if zygote is None:
            zygote = zygotes_enabled() and not self.gpu
        self._forks = bool(zygote and self.isolated and self.uid != os.geteuid())
        self.zygote: Zygote | SharedZygote | None = None
        self._kernel: psutil.Process | None = None
        self.client: BlockingKernelClient | None = None
        self.restarts = 0
        self._starts = 0
        self._log: BinaryIO | None = open(self.root / "kernel.log", "ab")  # closed by close()

    # -- life cycle ---------------------------------------------------------

    def __enter__(self) -> "Sandbox":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _warn_if_unsandboxed(self) -> None:
        if not self.isolated:
            warnings.warn(
                f"GRADING WITHOUT A SANDBOX: {self.isolation_note}. Submissions run with the "
                "grader's own rights and can read hidden tests; the results record isolation=off.",
                RuntimeWarning,
                stacklevel=3,
            )

    def start(self) -> None:
        self._warn_if_unsandboxed()
        # A new folder for every kernel's sockets: the old one was the old kernel's to tamper with.
        self._starts += 1
        ipc = self.root / f"ipc-{self._starts}"
        ipc.mkdir(mode=0o700)
        if self.uid != os.geteuid():
            os.chown(ipc, self.uid, self.uid)
        conn_file = ipc / "kernel.json"
        write_connection_file(str(conn_file), transport="ipc", ip=str(ipc / "k"))
        if self.uid != os.geteuid():
            os.chown(conn_file, self.uid, self.uid)
        self._kernel = None
        if self._forks and self.zygote is None:
            self.zygote = zygote_for(self._env(), self.limits.preload, self.limits.startup_timeout)
        if self.zygote is not None:
            self._start_forked(conn_file, ipc)
        else:
            self.proc = subprocess.Popen(
                self._command(conn_file, ipc),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self._env() if not self.isolated else {"PATH": "/usr/bin:/bin"},
                cwd=self.workdir,
            )
        kc = BlockingKernelClient(context=client_context())
        kc.load_connection_file(str(conn_file))
        kc.start_channels()
        try:
            self._wait_ready(kc)
        except Exception:
            kc.stop_channels()
            self._kill()
            raise
        self.client = kc

    def _start_forked(self, conn_file: Path, ipc: Path) -> None:
        """The jail around an idle placeholder, then a kernel forked from the zygote into it."""
        # The placeholder says "ready" once bubblewrap has made every mount: only then is its
        # mount namespace the sandbox's.
        self.proc = subprocess.Popen(
            [*self._jail(self._env(), ["--bind", str(ipc), str(ipc)]),
             "/bin/sh", "-c", "echo ready; exec sleep infinity"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin"},
            cwd=self.workdir,
        )
        assert self.proc.stdout is not None and self.zygote is not None  # stdout=PIPE; forks only with a zygote
        ready = read_line(self.proc.stdout, self.limits.startup_timeout)
        self.proc.stdout.close()
        if ready != "ready":
            raise SandboxError(f"the sandbox did not start: {self.log_tail()}")
        init = _sandbox_init(self.proc.pid)
        if init is None:
            raise SandboxError(f"the sandbox ended at start: {self.log_tail()}")
        pid = self.zygote.spawn({
            "ns_pid": init.pid,
            "workdir": str(self.workdir),
            "connection_file": str(conn_file),
            "uid": self.uid,
            "log": str(self.root / "kernel.log"),
            "env": self._env(),
            "rlimits": jail.rlimits(self.limits),
            "cgroup_procs": self.cgroup.procs_files if self.cgroup is not None else [],
        })
        try:
            self._kernel = psutil.Process(pid)
        except psutil.Error:
            raise SandboxError(f"the kernel exited at start: {self.log_tail()}") from None

    def _wait_ready(self, kc: BlockingKernelClient) -> None:
        """Until the kernel answers ``kernel_info`` and its iopub messages reach us.

        jupyter_client's own ``wait_for_ready`` first polls heartbeats in 0.2 s
        sleeps; here the kernel is a local process whose death we see directly,
        so a started kernel is ready to use within milliseconds of answering.
        The channels are read without jupyter_client's asyncio wrappers (see ``run``).
        """
        assert self.proc is not None  # started by start()
        deadline = time.monotonic() + self.limits.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None or (self.zygote is not None and self._kernel_process() is None):
                raise SandboxError(f"the kernel exited at start (code {self.proc.returncode}): {self.log_tail()}")
            kc.kernel_info()
            try:
                reply = kc.shell_channel.get_msg(timeout=0.5)
            except queue.Empty:
                continue
            # The answer to any of our requests will do: a kernel slower than the timeout answers an
            # earlier one, and waiting for the latest's own answer would keep us one behind for ever.
            if reply.get("msg_type") != "kernel_info_reply":
                continue
            # The kernel publishes its busy/idle status for every request: once one arrives, our iopub
            # subscription is connected (one made too late misses messages, so we ask again).
            try:
                kc.iopub_channel.get_msg(timeout=0.2)
                return
            except queue.Empty:
                continue
        raise SandboxError(f"the kernel did not start within {self.limits.startup_timeout:.0f} s: {self.log_tail()}")

    def preload(self) -> None:
        """Import the spec's ``preload`` modules in the kernel, before any submission code runs in it.

        A module that fails to import is left for the submission's own import
        to report; the kernel stays as it was. Then, unless the spec keeps
        ``limits.tf_data_autotune``, ``TF_DATA_DEFAULTS``. Every kernel whose
        timings are compared, the reference's included, goes through here.
        """
        code = preload_code(self.limits)
        if code and self.alive:
            self.run(code, timeout=self.limits.startup_timeout)

    def log_tail(self, n: int = 1500) -> str:
        try:
            data = (self.root / "kernel.log").read_bytes()
        except OSError:
            return ""
        return data[-n:].decode("utf-8", "replace").strip()

    def restart(self) -> None:
        """A fresh kernel in the same folder (the old one's state is gone)."""
        self._stop_kernel()
        # Processes of the old kernel (a fork bomb's children, say) count
        # against the uid's RLIMIT_NPROC until they are gone.
        host.reap_uid(self.uid)
        self.restarts += 1
        self.start()

    @property
    def limits_note(self) -> str:
        """How the sandbox's resources are limited, as results record it."""
        if self.cgroup is not None:
            return f"cgroup v{self.cgroup.hierarchy.version}: memory, tasks, an equal CPU share; rlimits"
        return f"rlimits only ({cgroups.status()[1]})"

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """Every process of the sandbox stopped for the block (a baseline is timed meanwhile); a no-op without
        a control group."""
        if self.cgroup is None:
            yield
            return
        self.cgroup.freeze()
        try:
            yield
        finally:
            self.cgroup.thaw()

    def close(self) -> None:
        self._stop_kernel()
        if self.cgroup is not None:
            self.cgroup.remove()  # every process of the sandbox, however it hid from the tree
            self.cgroup = None
        host.reap_uid(self.uid)  # before the uid is free for another sandbox
        if self._log:
            self._log.close()
            self._log = None
        if self.disk_capped:
            host.unmount(self.workdir)
        host.remove_tree(self.root)
        if self._uid_lock is not None:
            os.close(self._uid_lock)
            self._uid_lock = None

    def _stop_kernel(self) -> None:
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        self._kill()

    def _kill(self) -> None:
        if self.proc is None:
            return
        host.kill_tree(self.proc)  # everything the submission started
        self.proc = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self._kernel_process() is not None

    def _kernel_process(self) -> psutil.Process | None:
        if self.proc is None:
            return None
        if self.zygote is not None:
            try:  # psutil.Process checks the pid still names the process it was made for
                if self._kernel is not None and self._kernel.is_running() and \
                        self._kernel.status() != psutil.STATUS_ZOMBIE:
                    return self._kernel
            except psutil.Error:
                pass
            return None
        try:
            for p in [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]:
                # bwrap's own argv names the launcher too: match the interpreter itself.
                argv = p.cmdline()
                if argv[:3] == self._kernel_argv(Path())[:3] and p.status() != psutil.STATUS_ZOMBIE:
                    return p
        except psutil.Error:
            return None
        return None

    # -- the command --------------------------------------------------------

    def _env(self) -> dict[str, str]:
        return kernel_env(self.limits, self.threads, self.gpu, str(self.workdir))

    def _kernel_argv(self, conn_file: Path) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn_file),
                "--HistoryManager.enabled=False"]

    def _command(self, conn_file: Path, ipc: Path) -> list[str]:
        return [*self._jail(self._env(), ["--bind", str(ipc), str(ipc)]), *self._kernel_argv(conn_file)]

    def _jail(self, env: dict[str, str], extra_binds: list[str]) -> list[str]:
        """Everything before a program's own argv (see ``jail.jail_argv``); unsandboxed, only the limits."""
        if not self.isolated:
            return jail.limits_prefix(self.limits)
        enter = self.cgroup.enter_argv() if self.cgroup is not None else []  # bwrap and all it starts
        return [*enter, *jail.jail_argv(root=self.root, workdir=self.workdir, inbox=self.inbox, env=env,
                                        limits=self.limits, uid=self.uid, gpu=self.gpu, extra_binds=extra_binds)]

    # -- running a command ----------------------------------------------------

    def run_command(self, argv: list[str], timeout: float, env: dict[str, str] | None = None) -> CommandRun:
        """Run ``argv`` in this sandbox's jail until it exits or ``timeout`` seconds have passed.

        The jail is the kernel's: the same namespaces, read-only system, limits
        and unprivileged uid; ``work/`` (the working folder and HOME) writable,
        ``in/`` read-only. The environment is the kernel's, updated with ``env``.
        Put input files in place before calling; afterwards read ``work/`` only
        without following links (``sandbox.files``).
        Past the timeout the command and everything it started is killed.
        """
        self._warn_if_unsandboxed()
        full_env = {**self._env(), **(env or {})}
        start = time.monotonic()
        proc = subprocess.Popen(
            [*self._jail(full_env, []), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=full_env if not self.isolated else {"PATH": "/usr/bin:/bin"},
            cwd=self.workdir,
        )
        assert proc.stdout is not None  # stdout=PIPE
        tail = Tail(proc.stdout, self.limits.output_chars)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.returncode is None:  # timed out or interrupted: the command and all it started
                host.kill_tree(proc)
            seconds = time.monotonic() - start
            output = tail.text(wait=5)
        return CommandRun(returncode=proc.returncode, output=output, seconds=seconds, timed_out=timed_out,
                          truncated=tail.truncated)

    # -- running code -------------------------------------------------------

    def run(self, code: str, timeout: float | None = None) -> CodeRun:
        """Execute ``code`` in the kernel and collect its outputs as nbformat dicts.

        The status comes from the kernel's reply as well as its outputs: a cell
        IPython aborts with a line on stderr is an error, one that asks the
        kernel to exit (``exit()``) is ``exited`` and the kernel is stopped.
        """
        timeout = self.limits.cell_timeout if timeout is None else timeout
        if self.client is None or not self.alive:
            return CodeRun(status=CellStatus.DIED)
        start = time.monotonic()
        msg_id = self.client.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        collector = OutputCollector(self.limits.output_chars)
        ended = self._until_idle(msg_id, collector, start + timeout)
        seconds = time.monotonic() - start
        if ended is not None:
            return collector.result(ended, seconds)
        status = collector.reply(self._execute_reply(msg_id))
        if status == CellStatus.EXITED:
            self._stop_kernel()  # it is on its way out: no request may reach it meanwhile
        return collector.result(status, seconds)

    def _until_idle(self, msg_id: str, collector: OutputCollector, deadline: float) -> CellStatus | None:
        """Collect the run's outputs until the kernel is idle again (None), or say it timed out or died."""
        assert self.client is not None
        interrupted_at = None
        while True:
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self._interrupt()
                interrupted_at = now
            if interrupted_at is not None and now > interrupted_at + 5:
                # The code ignores SIGINT (or is stuck in C): the kernel is lost.
                self._stop_kernel()
                return CellStatus.TIMEOUT
            try:
                # The channel itself, not the client's ``get_iopub_msg``: that wraps every call in an
                # asyncio loop run, about as much CPU as the kernel spends on a judge's call.
                msg = self.client.iopub_channel.get_msg(timeout=0.2)
            except queue.Empty:
                if not self.alive:
                    self._stop_kernel()
                    return CellStatus.DIED
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                return CellStatus.TIMEOUT if interrupted_at is not None else None
            collector.add(msg)

    def _execute_reply(self, msg_id: str) -> dict:
        """The content of the kernel's ``execute_reply`` to ``msg_id`` (sent before its idle); {} if none came."""
        assert self.client is not None
        deadline = time.monotonic() + 2.0
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.client.shell_channel.get_msg(timeout=left)
            except queue.Empty:
                break
            if msg.get("parent_header", {}).get("msg_id") == msg_id and msg.get("msg_type") == "execute_reply":
                content = msg.get("content")
                return content if isinstance(content, dict) else {}
        return {}

    def _interrupt(self) -> None:
        kernel = self._kernel_process()
        if kernel is not None:
            try:
                kernel.send_signal(signal.SIGINT)
            except psutil.Error:
                pass


"""A Jupyter kernel inside a bubblewrap sandbox: start, run code, limits, tear down.

``Sandbox.run_command`` runs any other program in the same jail (same limits,
uid, folders), for tools that start their own kernel, such as Otter's runner.

The kernel runs as an unprivileged uid in its own mount, pid, network, ipc and
uts namespaces. It sees a read-only system (/usr, /etc, the Python prefix), a
private writable folder (its HOME and working directory, which also holds the
IPC sockets and connection file at the same path inside and out), and nothing
else: not the repository, not the autograder bundle, not /tmp.

jupyter_client's KernelManager is not used on purpose: version 8 silently
ignores ``kernel_cmd``, so a kernel "launched in a sandbox" that way starts on
the host and everything still seems to work. We start the process ourselves
and talk to it with a plain BlockingKernelClient.
"""

from __future__ import annotations

import atexit
import dataclasses
import fcntl
import functools
import io
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import psutil
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder import hardware
from autograder.spec import Limits

#: The kernel runs as an unprivileged uid from this range when the grader is
#: root: RLIMIT_NPROC only bites for non-root users, and it counts every
#: process of that uid on the machine, so each sandbox claims a uid of its own
#: (a lock file per uid; no passwd entry needed).
UID_BASE, UID_RANGE = 200_000, 100_000


class SandboxError(RuntimeError):
    """The sandbox could not be started or stopped working."""


@dataclasses.dataclass
class CodeRun:
    """What running one piece of code in the kernel produced."""

    status: str  # "ok" | "error" | "timeout" | "died"
    outputs: list = dataclasses.field(default_factory=list)
    error: dict | None = None  # {"ename", "evalue", "traceback"}
    seconds: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def error_line(self) -> str:
        if self.status == "timeout":
            return f"timed out after {self.seconds:.0f} s"
        if self.status == "died":
            return "the kernel died (the code exited the process or was killed, e.g. out of memory)"
        if self.error:
            return f"{self.error['ename']}: {self.error['evalue']}"[:500]
        return ""


@dataclasses.dataclass
class CommandRun:
    """What running one command in the sandbox produced (``Sandbox.run_command``)."""

    returncode: int | None  # negative: killed by that signal (as after a timeout); None: not reaped
    output: str  # the last ``limits.output_chars`` characters of stdout and stderr together
    seconds: float
    timed_out: bool = False
    truncated: bool = False  # earlier output was dropped to keep ``output`` within the limit


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
    probe = subprocess.run([bwrap, *_namespace_args(), *_system_binds(), "--", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"bwrap cannot create namespaces here: {probe.stderr.strip()[:300]}"
    return True, "bubblewrap"


SHM_BYTES = 256 * 2**20


def _namespace_args() -> list[str]:
    # As root, bwrap needs no user namespace and we drop to an unprivileged uid
    # with setpriv; an ordinary user needs one to get the other namespaces at all.
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", *user,
            "--die-with-parent", "--new-session"]


def _system_binds() -> list[str]:
    """The system, read-only (top-level symlinks of a merged /usr recreated), /proc, /dev, a private /tmp."""
    args: list[str] = []
    for top in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "etc"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.exists():
            args += ["--ro-bind", str(path), str(path)]
    # A private /dev/shm, writable: multiprocessing's locks and queues (Keras's image generator, a
    # PyDataset's workers) live there. Capped, since its pages are memory no rlimit counts.
    return args + ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
                   "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]


def _python_roots() -> list[Path]:
    """Folders the kernel's interpreter needs: the venv prefix and the base install."""
    roots = []
    for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        path = Path(p).resolve()
        if not any(path == r or r in path.parents for r in roots):
            roots.append(path)
    real_exe = Path(sys.executable).resolve()
    if not any(r in real_exe.parents for r in roots):
        roots.append(real_exe.parent.parent)
    return sorted(roots)


def _claim_uid() -> tuple[int, int]:
    """An unprivileged uid no other sandbox on this machine holds, and the lock that holds it."""
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
        if not _processes_of(uid):
            return uid, fd
        os.close(fd)
    raise SandboxError("no free uid for a sandbox")


def _processes_of(uid: int) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["uids"]):
        try:
            if p.info["uids"] and p.info["uids"].real == uid:
                found.append(p)
        except psutil.Error:
            pass
    return found


def _kill_tree(proc: subprocess.Popen) -> None:
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


class _Tail:
    """The last ``chars`` characters of a byte stream, read to its end by a thread of its own."""

    def __init__(self, stream: io.BufferedReader, chars: int):
        self.chars = chars
        self.data = bytearray()
        self.truncated = False
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: io.BufferedReader) -> None:
        keep = 4 * self.chars + 4  # UTF-8 needs at most 4 bytes a character
        with stream:
            while chunk := stream.read1(65536):
                self.data += chunk
                if len(self.data) > keep:
                    del self.data[:-keep]
                    self.truncated = True

    def text(self, wait: float) -> str:
        """The tail as text, once the stream ended or ``wait`` seconds passed (a process left
        outside bubblewrap may hold it open; the thread then ends when that process does)."""
        self._thread.join(wait)
        text = bytes(self.data).decode("utf-8", "replace")
        if len(text) > self.chars:
            self.truncated = True
            text = text[-self.chars:]
        return text


def _read_line(stream: io.BufferedReader, timeout: float) -> str | None:
    """One line from a pipe, or None if none came within ``timeout`` seconds or the pipe closed first."""
    import select

    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            return None
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            return None
        data += chunk
    return data.decode("utf-8", "replace").strip()


def _sandbox_init(bwrap_pid: int) -> psutil.Process | None:
    """The first process inside a bubblewrap sandbox (pid 1 of its namespace): its namespaces are the sandbox's."""
    try:
        children = psutil.Process(bwrap_pid).children()
    except psutil.Error:
        return None
    return children[0] if children else None


def zygotes_enabled() -> bool:
    """Whether kernels are forked from a zygote (see zygote.py): as root, unless DLGRADE_ZYGOTE=0."""
    return os.geteuid() == 0 and sys.platform == "linux" and os.environ.get("DLGRADE_ZYGOTE", "1") != "0"


class Zygote:
    """A ``python -m autograder.zygote`` process with ``modules`` imported, making kernels on request.

    Its owner asks through the zygote's stdin; other grading processes of the
    same batch ask through its socket (``SharedZygote``).
    """

    def __init__(self, env: dict[str, str], modules: tuple[str, ...], startup_timeout: float):
        self.home = Path(tempfile.mkdtemp(prefix="dlg-zygote-"))  # 0700: only root reaches the socket
        (self.home / "owner").write_text(_owner_mark())  # swept by sweep_stale once its grader is killed
        self.socket = str(self.home / "zygote.sock")
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.zygote", "--socket", self.socket, *modules],
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
                line = _read_line(self.proc.stdout, max(self._startup_timeout, 120.0))
                if line is None or not json.loads(line).get("ready"):
                    raise SandboxError("the kernel zygote did not start (set DLGRADE_ZYGOTE=0 to do without)")
                self._ready = True
            try:
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
            except OSError as exc:
                raise SandboxError(f"the kernel zygote is gone: {exc}") from None
            line = _read_line(self.proc.stdout, 60.0)
            if line is None:  # a late answer would be read as the next request's: this zygote is done
                self.proc.kill()
        return _kernel_pid(line)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        try:
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
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.connect(self.socket)
                conn.sendall((json.dumps(request) + "\n").encode())
            except OSError as exc:
                raise SandboxError(f"the batch's kernel zygote is gone: {exc}") from None
            return _kernel_pid(_read_line(conn, self._timeout))

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


def _zygote_for(env: dict[str, str], modules: tuple[str, ...], startup_timeout: float) -> Zygote | SharedZygote:
    """The zygote for kernels with ``env`` (HOME aside) and ``modules`` preloaded: shared with us, or our own."""
    key = _zygote_key(env, modules)
    with _ZYGOTES_LOCK:
        if key in _SHARED and os.path.exists(_SHARED[key]):
            return SharedZygote(_SHARED[key], startup_timeout)
        zygote = _ZYGOTES.get(key)
        if zygote is None or not zygote.alive:
            zygote = _ZYGOTES[key] = Zygote(env, modules, startup_timeout)
        return zygote


def share_zygote(limits: Limits, isolate: bool | None = None) -> dict[str, str]:
    """Start (or keep) this process's zygote for kernels under ``limits``; what ``adopt_zygotes`` needs to use it.

    A batch calls this before it starts its grading processes, so that they
    fork their kernels from one zygote instead of importing ``preload`` each.
    Empty where kernels are not forked (not root, no sandbox, a GPU).
    """
    if isolate is False or not bubblewrap_status()[0] or not zygotes_enabled() or hardware.gpu_device_nodes():
        return {}
    env = kernel_env(limits, gpu=False, home="/")
    zygote = _zygote_for(env, limits.preload, limits.startup_timeout)
    return {_zygote_key(env, limits.preload): zygote.socket}


def adopt_zygotes(shared: dict[str, str]) -> None:
    """Fork this process's kernels from the zygotes another process shares (``share_zygote``)."""
    with _ZYGOTES_LOCK:
        _SHARED.update(shared)


@atexit.register
def close_zygotes() -> None:
    with _ZYGOTES_LOCK:
        for zygote in _ZYGOTES.values():
            zygote.close()
        _ZYGOTES.clear()


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


def kernel_env(limits: Limits, gpu: bool, home: str) -> dict[str, str]:
    """A kernel's whole environment: nothing of the grader's leaks into it."""
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
    if limits.threads:
        # Parallel kernels on a few cores: each gets its share instead of all of them (oversubscribed
        # thread pools make small models train slower, not faster).
        n = str(limits.threads)
        env.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
                   TF_NUM_INTRAOP_THREADS=n, TF_NUM_INTEROP_THREADS=n)
    if gpu and os.environ.get("LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    if not gpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def _remove_tree(path: Path) -> None:
    """Remove a tree the submission wrote: never following links, however deep it is."""
    try:
        shutil.rmtree(path)  # fd-based on Linux: links inside are removed, not followed
    except FileNotFoundError:
        pass
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], capture_output=True)


def _mount_disk(workdir: Path, megabytes: int, uid: int) -> bool:
    """A tmpfs of ``megabytes`` at ``workdir``, owned by ``uid``: the kernel's disk, capped. Needs root."""
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700,uid={uid},gid={uid},"
                               "nosuid,nodev", "dlgrade-work", str(workdir)], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _unmount(workdir: Path) -> None:
    if os.path.ismount(workdir):
        subprocess.run(["umount", "--lazy", str(workdir)], capture_output=True, timeout=30)


def _owner_mark() -> str:
    """This process, as a sandbox's owner file names it: pid and start time (pids are reused)."""
    return f"{os.getpid()} {psutil.Process().create_time():.2f}"


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
            _unmount(folder / "work")
            _remove_tree(folder)
            removed += 1
    return removed


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
    opened without following links (see judge.py).
    """

    def __init__(self, limits: Limits = Limits(), isolate: bool | None = None, gpu: bool | None = None,
                 zygote: bool | None = None):
        self.limits = limits
        usable, why = bubblewrap_status()
        if isolate and not usable:
            raise SandboxError(f"isolation was required but is not available: {why}")
        self.isolated = usable if isolate is None else isolate
        if self.isolated:
            self.isolation_note = "bubblewrap"
        else:
            self.isolation_note = why if not usable else "turned off on request (--no-sandbox)"
        self.gpu = hardware.gpu_device_nodes() != [] if gpu is None else gpu
        # Short paths: IPC socket names must fit in 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="dlg-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        (self.root / "owner").write_text(_owner_mark())  # for sweep_stale, after a grader is killed
        self.workdir = self.root / "work"
        self.inbox = self.root / "in"
        self.workdir.mkdir()
        self.inbox.mkdir()
        self._uid_lock = None
        #: Whether the kernel's folder is a tmpfs of ``limits.disk_mb`` (as root), so it cannot fill the disk.
        self.disk_capped = False
        if self.isolated and os.geteuid() == 0:
            self.uid, self._uid_lock = _claim_uid()
            self.disk_capped = _mount_disk(self.workdir, limits.disk_mb, self.uid)
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
        self._log = open(self.root / "kernel.log", "ab")

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
            self.zygote = _zygote_for(self._env(), self.limits.preload, self.limits.startup_timeout)
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
        kc = BlockingKernelClient()
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
        ready = _read_line(self.proc.stdout, self.limits.startup_timeout)
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
            "rlimits": self._rlimits(),
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
        if not self.alive:
            return
        code = ""
        if self.limits.preload:
            # __import__ binds no name: the submission starts with an empty namespace all the same.
            code = (f"for __dlg in {list(self.limits.preload)!r}:\n"
                    "    try:\n        __import__(__dlg)\n    except Exception:\n        pass\ndel __dlg\n")
        if not self.limits.tf_data_autotune:
            code += TF_DATA_DEFAULTS
        if code:
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
        self._reap_uid()
        self.restarts += 1
        self.start()

    def _reap_uid(self) -> None:
        """Wait (killing) until no process runs as this sandbox's uid.

        Killing bwrap's init ends its pid namespace, but the kernel of the
        host does that asynchronously: a process the submission started may
        still be dying when ``_kill_tree`` returns.
        """
        if self.uid == os.geteuid():
            return
        for _ in range(100):
            left = _processes_of(self.uid)
            if not left:
                return
            for p in left:
                try:
                    p.kill()
                except psutil.Error:
                    pass
            time.sleep(0.05)

    def close(self) -> None:
        self._stop_kernel()
        self._reap_uid()  # before the uid is free for another sandbox
        if self._log:
            self._log.close()
            self._log = None
        if self.disk_capped:
            _unmount(self.workdir)
        _remove_tree(self.root)
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
        _kill_tree(self.proc)  # everything the submission started
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
        return kernel_env(self.limits, self.gpu, str(self.workdir))

    def _rlimits(self) -> dict[str, int]:
        """The kernel's rlimits by ``resource`` name: set by prlimit (exec'd) or by the fork itself (zygote)."""
        lim = self.limits
        return {"RLIMIT_NPROC": lim.max_processes, "RLIMIT_DATA": lim.memory_mb * 2**20,
                "RLIMIT_FSIZE": lim.max_file_mb * 2**20, "RLIMIT_CORE": 0}

    def _limits_prefix(self) -> list[str]:
        flag = {"RLIMIT_NPROC": "--nproc", "RLIMIT_DATA": "--data", "RLIMIT_FSIZE": "--fsize", "RLIMIT_CORE": "--core"}
        return ["prlimit", *(f"{flag[name]}={value}" for name, value in self._rlimits().items()), "--"]

    def _kernel_argv(self, conn_file: Path) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn_file),
                "--HistoryManager.enabled=False"]

    def _command(self, conn_file: Path, ipc: Path) -> list[str]:
        return [*self._jail(self._env(), ["--bind", str(ipc), str(ipc)]), *self._kernel_argv(conn_file)]

    def _jail(self, env: dict[str, str], extra_binds: list[str]) -> list[str]:
        """Everything before a program's own argv: bwrap (with ``env`` inside), the limits, the uid.

        ``extra_binds`` are bwrap arguments for folders beyond ``work/`` and ``in/``.
        Unsandboxed, only the limits remain.
        """
        if not self.isolated:
            return self._limits_prefix()
        args = [shutil.which("bwrap") or "bwrap", *_namespace_args(), "--clearenv", "--hostname", "sandbox"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        args += _system_binds()
        made: set[Path] = {Path("/"), Path("/tmp")}
        for root in _python_roots():
            args += self._mkdirs(root.parent, made) + ["--ro-bind", str(root), str(root)]
        if self.gpu:
            for node in hardware.gpu_device_nodes():
                args += ["--dev-bind", node, node]
            args += ["--ro-bind", "/sys", "/sys"]
            for lib in hardware.gpu_library_dirs():
                args += self._mkdirs(Path(lib).parent, made) + ["--ro-bind", lib, lib]
        args += self._mkdirs(self.root, made)
        args += ["--bind", str(self.workdir), str(self.workdir), "--ro-bind", str(self.inbox), str(self.inbox),
                 *extra_binds, "--chdir", str(self.workdir)]
        args += ["--", *self._limits_prefix()]
        if self.uid != os.geteuid():
            args += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--"]
        return args

    @staticmethod
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

    # -- running a command ----------------------------------------------------

    def run_command(self, argv: list[str], timeout: float, env: dict[str, str] | None = None) -> CommandRun:
        """Run ``argv`` in this sandbox's jail until it exits or ``timeout`` seconds have passed.

        The jail is the kernel's: the same namespaces, read-only system, limits
        and unprivileged uid; ``work/`` (the working folder and HOME) writable,
        ``in/`` read-only. The environment is the kernel's, updated with ``env``.
        Put input files in place before calling; afterwards read ``work/`` only
        without following links (``judge._open_dir`` and ``judge._read_at``).
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
        tail = _Tail(proc.stdout, self.limits.output_chars)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.returncode is None:  # timed out or interrupted: the command and all it started
                _kill_tree(proc)
            seconds = time.monotonic() - start
            output = tail.text(wait=5)
        return CommandRun(returncode=proc.returncode, output=output, seconds=seconds, timed_out=timed_out,
                          truncated=tail.truncated)

    # -- running code -------------------------------------------------------

    def run(self, code: str, timeout: float | None = None) -> CodeRun:
        """Execute ``code`` in the kernel and collect its outputs as nbformat dicts."""
        timeout = self.limits.cell_timeout if timeout is None else timeout
        if self.client is None or not self.alive:
            return CodeRun(status="died")
        start = time.monotonic()
        msg_id = self.client.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        collector = _OutputCollector(self.limits.output_chars)
        deadline = start + timeout
        interrupted_at = None
        while True:
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self._interrupt()
                interrupted_at = now
            if interrupted_at is not None and now > interrupted_at + 5:
                # The code ignores SIGINT (or is stuck in C): the kernel is lost.
                self._stop_kernel()
                return collector.result("timeout", time.monotonic() - start)
            try:
                # The channel itself, not the client's ``get_iopub_msg``: that wraps every call in an
                # asyncio loop run, about as much CPU as the kernel spends on a judge's call.
                msg = self.client.iopub_channel.get_msg(timeout=0.2)
            except queue.Empty:
                if not self.alive:
                    self._stop_kernel()
                    return collector.result("died", time.monotonic() - start)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                break
            collector.add(msg)
        seconds = time.monotonic() - start
        if interrupted_at is not None:
            return collector.result("timeout", seconds)
        return collector.result("error" if collector.error else "ok", seconds)

    def _interrupt(self) -> None:
        kernel = self._kernel_process()
        if kernel is not None:
            try:
                kernel.send_signal(signal.SIGINT)
            except psutil.Error:
                pass


class _OutputCollector:
    """Turns iopub messages into nbformat outputs, keeping at most ``limit`` characters of text.

    The kernel holds the connection's signing key, so a submission can send
    any message it likes: every field is checked for its type here.
    """

    IMAGE_BUDGET = 8_000_000  # characters of base64 images per run, on top of the text limit
    MAX_OUTPUTS = 1000

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.image_used = 0
        self.outputs: list[dict] = []
        self.error: dict | None = None
        self.truncated = False

    def _take(self, text: str) -> str:
        room = self.limit - self.used
        if len(text) > room:
            self.truncated = True
            text = text[: max(room, 0)]
        self.used += len(text)
        return text

    def add(self, msg: dict) -> None:
        kind = msg.get("msg_type") if isinstance(msg, dict) else None
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, dict) or len(self.outputs) >= self.MAX_OUTPUTS:
            self.truncated = self.truncated or isinstance(content, dict)
            return
        if kind == "stream":
            name = content.get("name") if content.get("name") in ("stdout", "stderr") else "stdout"
            text = content.get("text")
            text = self._take(text if isinstance(text, str) else "")
            if not text:
                return
            last = self.outputs[-1] if self.outputs else None
            if last and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
            else:
                self.outputs.append({"output_type": "stream", "name": name, "text": text})
        elif kind in ("display_data", "execute_result"):
            data = {}
            raw = content.get("data")
            for mime, value in (raw.items() if isinstance(raw, dict) else []):
                if not isinstance(mime, str) or not isinstance(value, str):
                    continue  # only text and base64 cross; anything else is dropped, not repr'd
                if mime.startswith("image/"):
                    if self.image_used + len(value) > self.IMAGE_BUDGET:
                        self.truncated = True
                        continue
                    self.image_used += len(value)
                elif len(value) + self.used > self.limit:
                    self.truncated = True
                    continue
                else:
                    self.used += len(value)
                data[mime[:100]] = value
            out = {"output_type": kind, "data": data, "metadata": {}}
            if kind == "execute_result":
                count = content.get("execution_count")
                out["execution_count"] = count if isinstance(count, int) else None
            self.outputs.append(out)
        elif kind == "error":
            traceback = content.get("traceback")
            self.error = {
                "ename": str(content.get("ename", ""))[:200],
                "evalue": str(content.get("evalue", ""))[:2000],
                "traceback": [str(t)[:4000] for t in (traceback if isinstance(traceback, list) else [])[:50]],
            }
            self.outputs.append({"output_type": "error", **self.error})

    def result(self, status: str, seconds: float) -> CodeRun:
        if self.truncated:
            self.outputs.append({"output_type": "stream", "name": "stderr",
                                 "text": f"\n[dlgrade: output cut at {self.limit} characters]\n"})
        return CodeRun(status=status, outputs=self.outputs, error=self.error, seconds=seconds,
                       truncated=self.truncated)

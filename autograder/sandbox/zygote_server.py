"""The zygote process (runs apart from the grader): imports the heavy modules once; each kernel is a fork of it.

This module is the program of another process: ``python -m
autograder.sandbox.zygote_server``. The grader never imports it; it talks to
it through ``sandbox.zygote``.

A fresh kernel spends 10-13 CPU-seconds importing TensorFlow and Otter
before a submission's first line runs. The zygote pays that once per grading
process. For each kernel the grader first starts a bubblewrap sandbox around
an idle placeholder (the same namespaces, mounts, limits and uid as any
kernel's jail) and then asks the zygote for a kernel *in* it. The zygote
forks; the fork joins the sandbox's namespaces with setns(2), as
``nsenter``/``docker exec`` do (mount namespace last, so it ends at the
sandbox's root), forks once more so that the kernel is inside the sandbox's
pid namespace, drops every privilege, and runs ipykernel there. The sandbox
itself is bubblewrap's; the fork only enters it.

The zygote is a fresh interpreter with the kernel's environment. It imports
nothing of the grader (the package's and ``sandbox``'s ``__init__`` import
nothing but ``autograder._deferred``) and never sees hidden tests, bundles or
other submissions: all a kernel inherits from it are imported libraries. It reads one JSON request a line on stdin and
answers one JSON line on stdout; it exits when stdin closes (its grader is
gone). With ``--socket PATH`` it also answers requests, a line each, on a
Unix socket at PATH: the grading processes of one batch share their
batch's zygote through it (PATH lies in a folder only root can enter).

Needs root (setns into namespaces it does not own). ``sandbox.kernel.Sandbox``
falls back to exec'ing the kernel inside bubblewrap otherwise.
"""

from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import socket
import sys
import traceback

PR_SET_NO_NEW_PRIVS = 38
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
#: Namespaces to enter, mount last: entering it moves root and cwd to the sandbox's root.
NAMESPACES = ("ipc", "uts", "net", "cgroup", "pid", "mnt")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enter(request: dict, libc: ctypes.CDLL) -> None:
    """In the first fork: join the sandbox's control group (so that the kernel and all it starts count there),
    then its namespaces (by its init's pid)."""
    for procs in request.get("cgroup_procs", []):
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    pid = int(request["ns_pid"])
    fds = {}
    for ns in NAMESPACES:
        try:
            fds[ns] = os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            if ns != "cgroup":
                raise
    for ns, fd in fds.items():
        _check(libc.setns(fd, 0), f"setns({ns})")
        os.close(fd)


def _become_kernel(request: dict, log_fd: int, libc: ctypes.CDLL) -> None:
    """In the second fork, inside the sandbox's pid namespace: become the unprivileged kernel."""
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, 1 << 16)  # nothing of the zygote's (its pipes to the grader) stays open
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    os.chdir(request["workdir"])
    import resource

    for name, value in request["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    for cap in range(64):  # no capability can come back, even through a setuid program
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    uid = int(request["uid"])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # Changing uid made the process undumpable (its /proc files root's); an exec'd kernel is not.
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(0o022)
    if "numpy" in sys.modules:  # forks share the zygote's global random state; a fresh kernel would not
        sys.modules["numpy"].random.seed()
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], "--HistoryManager.enabled=False"]
    sys.path[0] = request["workdir"]  # as `python -m` in that folder would have it
    import runpy

    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


def _spawn(request: dict, libc: ctypes.CDLL) -> int:
    """Fork a kernel into the sandbox of ``request``; the kernel's pid (host's view)."""
    log_fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW)
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:
        code = 1
        try:
            os.close(read_end)
            _enter(request, libc)
            kernel = os.fork()
            if kernel == 0:
                code = 1
                try:
                    _become_kernel(request, log_fd, libc)
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:
                    os.write(log_fd, traceback.format_exc().encode())
                finally:
                    os._exit(code)
            os.write(write_end, str(kernel).encode())
            code = 0
        except BaseException:
            os.write(log_fd, f"dlgrade zygote: could not enter the sandbox\n{traceback.format_exc()}".encode())
        finally:
            os._exit(code)  # the kernel is left to the sandbox's init
    os.close(write_end)
    os.close(log_fd)
    data = b""
    while chunk := os.read(read_end, 64):
        data += chunk
    os.close(read_end)  # at end of file the first fork has exited; _reap collects it
    if not data:
        raise RuntimeError("the kernel could not be started in its sandbox (see its log)")
    return int(data)


def _reap(signum, frame) -> None:
    """Collect every child that ended: the first forks, and the kernels orphaned to us."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _answer(line: bytes, libc: ctypes.CDLL) -> bytes:
    reply: dict[str, object]
    try:
        reply = {"pid": _spawn(json.loads(line), libc)}
    except Exception as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    return (json.dumps(reply) + "\n").encode()


def _reply(source: int | socket.socket, reply: bytes) -> None:
    if isinstance(source, int):
        os.write(1, reply)
        return
    try:
        source.sendall(reply)
    except OSError:  # that client is gone; the kernel is its sandbox's to end
        pass


def _serve(listener: socket.socket | None, libc: ctypes.CDLL) -> None:
    """Answer requests from stdin (the owner) and from the socket's clients, one at a time, until stdin closes."""
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, "owner")
    if listener is not None:
        selector.register(listener, selectors.EVENT_READ, "listener")
    pending: dict[int | socket.socket, bytes] = {}
    while True:
        for key, _ in selector.select():
            if key.data == "listener" and listener is not None:
                conn, _ = listener.accept()
                selector.register(conn, selectors.EVENT_READ, "client")
                pending[conn] = b""
                continue
            source: int | socket.socket = 0 if key.data == "owner" else key.fileobj  # type: ignore[assignment]
            try:
                chunk = os.read(0, 65536) if isinstance(source, int) else source.recv(65536)
            except OSError:  # a client reset its connection (its process was killed): as good as closed
                chunk = b""
            if not chunk:
                if isinstance(source, int):  # the owner is gone, and with it the batch
                    return
                selector.unregister(source)
                source.close()
                pending.pop(source, None)
                continue
            pending[source] = pending.get(source, b"") + chunk
            while b"\n" in pending[source]:
                line, pending[source] = pending[source].split(b"\n", 1)
                _reply(source, _answer(line, libc))


def main() -> None:
    args = sys.argv[1:]
    listener = None
    if args[:1] == ["--socket"]:
        # Bound before the imports, so that a client may connect at once; it is answered after them.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(args[1])
        listener.listen(64)
        args = args[2:]
    # ipykernel.debugger (debugpy) is imported by every kernel's start otherwise: 0.1 CPU-s each.
    for name in ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "ipykernel_launcher", *args]:
        try:
            __import__(name)
        except Exception:  # left for the submission's own import to report, as a preload is
            pass
    libc = _libc()
    # A kernel's parent (the first fork) exits at once, and an orphan goes to the nearest subreaper:
    # us, not the machine's init, so that a killed kernel is reaped at once, not whenever init gets to it.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGCHLD, _reap)
    os.write(1, (json.dumps({"ready": True}) + "\n").encode())
    _serve(listener, libc)
    # Nothing is left to flush or save. Tearing down the interpreter with TensorFlow loaded costs 2-3 CPU-s,
    # which the batch waits for at its end.
    os._exit(0)


if __name__ == "__main__":
    main()

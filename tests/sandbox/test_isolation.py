"""The sandbox really isolates: real kernels under bubblewrap, probed from inside."""

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from autograder.sandbox.kernel import Sandbox
from autograder.sandbox.zygote import zygotes_enabled
from autograder.spec import Limits

pytestmark = [pytest.mark.bwrap, pytest.mark.kernel]


def _value(run):
    """The text a cell printed, as JSON."""
    assert run.ok, run.error_line()
    text = "".join(o.get("text", "") for o in run.outputs if o["output_type"] == "stream")
    return json.loads(text)


#: Both ways a kernel gets into its jail: forked from the zygote (as root, the default) and exec'd by bwrap.
LAUNCHES = ["forked", "exec"] if zygotes_enabled() else ["exec"]


@pytest.fixture(scope="module", params=LAUNCHES)
def sandbox(request):
    with Sandbox(Limits(cell_timeout=20, memory_mb=2048, max_processes=64, disk_mb=64), isolate=True,
                 zygote=request.param == "forked") as sb:
        assert (sb.zygote is not None) == (request.param == "forked")
        yield sb


def test_kernel_cannot_read_a_file_planted_on_the_host(sandbox, tmp_path_factory):
    # Planted outside the sandbox's own folder, in places a grader keeps things.
    secret = uuid.uuid4().hex
    planted = [tmp_path_factory.mktemp("hidden") / "labels.npy", Path.cwd() / f".planted-{secret[:8]}"]
    for p in planted:
        p.write_text(secret)
    try:
        code = (
            "import json, os\n"
            f"paths = {[str(p) for p in planted]!r}\n"
            "seen = {}\n"
            "for p in paths:\n"
            "    try:\n"
            "        seen[p] = open(p).read()\n"
            "    except OSError as e:\n"
            "        seen[p] = type(e).__name__\n"
            "print(json.dumps(seen))\n"
        )
        seen = _value(sandbox.run(code))
        # The same code on the host does read them: the probe itself works.
        assert all(p.read_text() == secret for p in planted)
        assert set(seen.values()) == {"FileNotFoundError"}, seen
    finally:
        for p in planted:
            p.unlink()


def test_kernel_runs_unprivileged_in_its_own_namespaces(sandbox):
    seen = _value(sandbox.run(
        "import json, os\n"
        "print(json.dumps({'uid': os.getuid(), 'pid': os.getpid(), 'cwd': os.getcwd(),"
        " 'home': os.environ.get('HOME'), 'env': sorted(os.environ)}))"
    ))
    if os.geteuid() == 0:
        assert seen["uid"] >= 200_000 and seen["uid"] == sandbox.uid
    assert seen["pid"] < 10, "the kernel is not in its own pid namespace: was it launched outside bwrap?"
    assert seen["pid"] != os.getpid()
    assert seen["cwd"] == str(sandbox.workdir) == seen["home"]
    assert not any(k.startswith(("JPY_", "PYTEST")) for k in seen["env"]), seen["env"]


def test_kernel_has_no_network(sandbox):
    seen = _value(sandbox.run(
        "import json, socket\n"
        "out = {}\n"
        "for host, port in [('127.0.0.1', 22), ('1.1.1.1', 53)]:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2).close(); out[host] = 'connected'\n"
        "    except OSError as e:\n"
        "        out[host] = type(e).__name__\n"
        "print(json.dumps(out))"
    ))
    assert "connected" not in seen.values(), seen


def test_system_is_read_only_and_workdir_is_writable(sandbox):
    seen = _value(sandbox.run(
        "import json, sys\n"
        "out = {}\n"
        "for p in ['/usr/evil', '/etc/evil', sys.prefix + '/evil', '/tmp/ok', 'mine.txt']:\n"
        "    try:\n"
        "        open(p, 'w').write('x'); out[p] = 'written'\n"
        "    except OSError as e:\n"
        "        out[p] = type(e).__name__\n"
        "print(json.dumps(out))"
    ))
    assert seen.pop("mine.txt") == "written"
    assert seen.pop("/tmp/ok") == "written"  # a private tmpfs, gone with the kernel
    assert "written" not in seen.values(), seen
    assert (sandbox.workdir / "mine.txt").read_text() == "x"


def test_multiprocessing_locks_work_in_a_private_capped_dev_shm(sandbox):
    """Keras's image generator and a PyDataset's workers need multiprocessing's locks, which live in /dev/shm."""
    marker = f"dlgrade-shm-{uuid.uuid4().hex[:8]}"
    seen = _value(sandbox.run(
        "import json, os, multiprocessing.pool\n"
        "with multiprocessing.pool.ThreadPool(2) as pool:\n"
        "    squares = pool.map(lambda v: v * v, [1, 2, 3])\n"
        f"open('/dev/shm/{marker}', 'w').write('x')\n"
        "st = os.statvfs('/dev/shm')\n"
        "print(json.dumps({'squares': squares, 'bytes': st.f_blocks * st.f_frsize}))"
    ))
    assert seen["squares"] == [1, 4, 9]
    assert 0 < seen["bytes"] <= 256 * 2**20
    assert not Path(f"/dev/shm/{marker}").exists()  # the kernel's own, not the host's


def test_limits_are_in_force_inside(sandbox):
    seen = _value(sandbox.run(
        "import json, resource\n"
        "print(json.dumps({'nproc': resource.getrlimit(resource.RLIMIT_NPROC)[0],"
        " 'data': resource.getrlimit(resource.RLIMIT_DATA)[0]}))"
    ))
    assert seen == {"nproc": 64, "data": 2048 * 2**20}


def test_memory_bomb_gets_memory_error_and_kernel_survives(sandbox):
    run = sandbox.run("import numpy as np\nx = np.ones(3 * 2**30 // 8)")
    assert run.status == "error" and run.error["ename"] == "MemoryError", run
    assert sandbox.run("print(1)").ok


def test_the_disk_is_capped_and_given_back(sandbox):
    if os.geteuid() != 0:
        pytest.skip("the kernel's folder is a capped tmpfs only when the grader runs as root")
    assert sandbox.disk_capped and os.path.ismount(sandbox.workdir)
    seen = _value(sandbox.run(
        "import json, os\n"
        "written, err = 0, None\n"
        "try:\n"
        "    for i in range(100):\n"
        "        with open(f'fill{i}', 'wb') as f:\n"
        "            f.write(b'x' * 2**20 * 8)\n"
        "        written += 8\n"
        "except OSError as e:\n"
        "    err = e.strerror\n"
        "print(json.dumps({'written_mb': written, 'error': err}))"
    ))
    assert seen["written_mb"] < 64 and seen["error"] == "No space left on device", seen
    assert sandbox.run("import glob, os\nfor f in glob.glob('fill*'): os.remove(f)").ok
    # /tmp too: a quarter of the disk (16 MB of 64), not half the machine's memory.
    seen = _value(sandbox.run(
        "import json, os\n"
        "written, err = 0, None\n"
        "try:\n"
        "    for i in range(100):\n"
        "        with open(f'/tmp/fill{i}', 'wb') as f:\n"
        "            f.write(b'x' * 2**20 * 4)\n"
        "        written += 4\n"
        "except OSError as e:\n"
        "    err = e.strerror\n"
        "print(json.dumps({'written_mb': written, 'error': err}))"
    ))
    assert seen["written_mb"] < 16 and seen["error"] == "No space left on device", seen
    assert sandbox.run("import glob, os\nfor f in glob.glob('/tmp/fill*'): os.remove(f)").ok
    with Sandbox(Limits(disk_mb=16), isolate=True) as other:
        work = other.workdir
        assert os.path.ismount(work)
    assert not os.path.ismount(work) and not work.exists()


def test_fork_bomb_is_capped(sandbox):
    if os.geteuid() != 0:
        pytest.skip("RLIMIT_NPROC counts all of this user's processes: not safe to bomb as a normal user")
    seen = _value(sandbox.run(
        "import json, os, time\n"
        "pids, err = [], None\n"
        "try:\n"
        "    for _ in range(500):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(30); os._exit(0)\n"
        "        pids.append(pid)\n"
        "except OSError as e:\n"
        "    err = type(e).__name__\n"
        "for p in pids:\n"
        "    os.kill(p, 9); os.waitpid(p, 0)\n"
        "print(json.dumps({'forked': len(pids), 'error': err}))"
    ))
    assert seen["error"] == "BlockingIOError" and seen["forked"] < 64, seen


@pytest.mark.skipif(not zygotes_enabled(), reason="kernels are forked from a zygote only as root")
def test_a_forked_kernel_keeps_nothing_of_the_zygote():
    """Forked, not exec'd: it must still end up with no privilege, no descriptor and no process of the host's."""
    import psutil

    with Sandbox(Limits(preload=("numpy",)), isolate=True, threads=1) as sb:
        assert sb.zygote is not None
        seen = _value(sb.run(
            "import json, os\n"
            "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
            "fds = {}\n"
            "for fd in os.listdir('/proc/self/fd'):\n"
            "    try:\n"
            "        fds[fd] = os.readlink('/proc/self/fd/' + fd)\n"
            "    except OSError:\n"
            "        pass\n"
            "print(json.dumps({'caps': [status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')],"
            " 'nnp': status['NoNewPrivs'].strip(), 'uids': status['Uid'].split(), 'groups': status['Groups'].strip(),"
            " 'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), 'fds': fds,"
            " 'sid': os.getsid(0) == os.getpid(), 'env': dict(os.environ), 'root': sorted(os.listdir('/'))}))"
        ))
        assert seen["caps"] == ["0000000000000000"] * 5
        assert seen["nnp"] == "1" and set(seen["uids"]) == {str(sb.uid)} and seen["groups"] == ""
        assert max(seen["pids"]) < 10, seen["pids"]  # the jail's pid namespace: the zygote is not in it
        assert sb.zygote.proc.pid not in seen["pids"] or psutil.Process(sb.zygote.proc.pid).uids().real == 0
        # Only the kernel's own: stdio (null and its log, which it cannot name), sockets, pipes, epoll.
        paths = [t for t in seen["fds"].values() if t.startswith("/")]
        assert all(t in ("/dev/null", "/proc/self/fd") or t.startswith(str(sb.root)) for t in paths), paths
        assert seen["sid"]
        assert seen["env"]["HOME"] == str(sb.workdir) and "dlg-zygote" not in json.dumps(seen["env"])
        assert seen["root"] == sorted(os.listdir(f"/proc/{sb._kernel.pid}/root"))


def test_thread_share_and_preload_reach_the_kernel_and_bind_no_name():
    with Sandbox(Limits(preload=("numpy", "no_such_module_here")), isolate=True, threads=1) as sb:
        sb.preload()
        run = sb.run("import os, sys\n"
                     "print(os.environ['TF_NUM_INTRAOP_THREADS'], os.environ['OMP_NUM_THREADS'],\n"
                     "      'numpy' in sys.modules, 'numpy' in globals(), 'no_such_module_here' in sys.modules)")
        assert run.ok, run.error_line()
        assert run.outputs[0]["text"].split() == ["1", "1", "True", "False", "False"]


@pytest.mark.slow
@pytest.mark.parametrize("keep", [False, True], ids=["default", "spec_keeps_it"])
def test_tf_data_autotuning_is_off_where_the_code_does_not_choose(keep):
    """Keras's fit makes an iterator per epoch; each autotuned one costs a timed wait (sandbox.TF_DATA_DEFAULTS)."""
    with Sandbox(Limits(preload=("tensorflow",), tf_data_autotune=keep), isolate=True) as sb:
        sb.preload()
        run = sb.run(
            "import json, tensorflow as tf\n"
            "plain = tf.data.Dataset.range(4).map(lambda x: x + 1, num_parallel_calls=tf.data.AUTOTUNE)\n"
            "on = tf.data.Options()\n"
            "on.autotune.enabled = True\n"
            "chosen = plain.with_options(on)\n"
            "seen = [iter(d)._dataset.options().autotune.enabled for d in (plain, chosen)]\n"
            "print(json.dumps({'seen': seen, 'values': list(map(int, plain)),\n"
            "                  'names': sorted(n for n in globals() if n.startswith('__dlg'))}))")
        assert run.ok, run.error_line()
        # TensorFlow writes to stderr in its own time (cuInit's complaint): stdout alone.
        got = json.loads("".join(o["text"] for o in run.outputs if o.get("name") == "stdout"))
    assert got["values"] == [1, 2, 3, 4]
    assert got["names"] == []
    # Unset: off unless the spec keeps it; chosen in the code: as chosen.
    assert got["seen"] == ([None, True] if keep else [False, True])


def test_cell_timeout_interrupts_and_state_survives():
    with Sandbox(Limits(cell_timeout=2), isolate=True) as sb:
        assert sb.run("x = 41").ok
        run = sb.run("import time\nwhile True: time.sleep(0.05)")
        assert run.status == "timeout" and 1.5 < run.seconds < 10
        assert _value(sb.run("print(x + 1)")) == 42


@pytest.mark.slow
def test_code_that_ignores_interrupts_loses_the_kernel_not_the_grader():
    with Sandbox(Limits(cell_timeout=1), isolate=True) as sb:
        run = sb.run("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: time.sleep(0.05)")
        assert run.status == "timeout" and not sb.alive
        sb.restart()
        assert _value(sb.run("print(7)")) == 7


def test_os_exit_is_reported_as_a_dead_kernel():
    with Sandbox(Limits(cell_timeout=10), isolate=True) as sb:
        assert sb.run("import os; os._exit(3)").status == "died"
        assert sb.run("print(1)").status == "died"
        sb.restart()
        assert sb.run("print(1)").ok


def test_a_flood_of_output_is_cut():
    with Sandbox(Limits(output_chars=1000), isolate=True) as sb:
        run = sb.run("for i in range(20000): print('x' * 100)")
        assert run.ok and run.truncated
        assert sum(len(o.get("text", "")) for o in run.outputs) < 1200


def test_nothing_outlives_the_sandbox():
    import psutil

    marker = f"dlgrade-outlive-{uuid.uuid4().hex[:8]}"  # this test's process only, whatever else runs
    sb = Sandbox(Limits(), isolate=True)
    sb.start()
    run = sb.run("import subprocess\n"
                 f"subprocess.Popen(['bash', '-c', 'exec -a {marker} sleep 300'], start_new_session=True)")
    assert run.ok, run.error_line()

    def marked():
        return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]

    deadline = time.monotonic() + 10
    while not marked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked(), "the submission's background process never started"
    workdir, pid = sb.workdir, sb.proc.pid
    sb.close()
    assert not workdir.exists()
    assert not marked(), f"processes left behind: {marked()}"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_without_bubblewrap_grading_runs_warns_and_says_so(monkeypatch):
    import autograder.sandbox.kernel as kernel_mod
    from autograder.errors import SandboxError

    monkeypatch.setattr(kernel_mod, "bubblewrap_status", lambda: (False, "bubblewrap (bwrap) is not installed"))
    with pytest.warns(RuntimeWarning, match="GRADING WITHOUT A SANDBOX: bubblewrap \\(bwrap\\) is not installed"):
        sb = Sandbox(Limits())
        sb.start()
    try:
        assert not sb.isolated and sb.isolation_note == "bubblewrap (bwrap) is not installed"
        assert _value(sb.run("import json, os; print(json.dumps(os.getpid()))")) > 10  # on the host
    finally:
        sb.close()
    with pytest.raises(SandboxError, match="isolation was required"):
        Sandbox(Limits(), isolate=True)

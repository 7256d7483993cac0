"""Every sandbox in its own control group: memory counted whole, its processes together, frozen and killed whole.

Each bomb first proves its limit is in force (the group's file says so) and
is skipped, saying why, where control groups cannot be made here.
"""

import json
import time
from pathlib import Path

import psutil
import pytest

from autograder.sandbox import cgroups
from autograder.sandbox.kernel import Sandbox
from autograder.sandbox.zygote import zygotes_enabled
from autograder.spec import Limits

pytestmark = [pytest.mark.bwrap, pytest.mark.kernel,
              pytest.mark.skipif(not cgroups.status()[0], reason=f"no control groups here: {cgroups.status()[1]}")]

LAUNCHES = ["forked", "exec"] if zygotes_enabled() else ["exec"]


@pytest.fixture(params=LAUNCHES)
def sandbox(request):
    with Sandbox(Limits(cell_timeout=30, memory_mb=1024, max_processes=64, disk_mb=64), isolate=True,
                 zygote=request.param == "forked") as sb:
        yield sb


def _value(run):
    assert run.ok, run.error_line()
    return json.loads("".join(o.get("text", "") for o in run.outputs if o["output_type"] == "stream"))


def test_the_kernel_and_all_it_starts_are_in_the_group_whatever_session(sandbox):
    assert sandbox.cgroup is not None and "cgroup v" in sandbox.limits_note
    pids = _value(sandbox.run(
        "import json, os, subprocess\n"
        "p = subprocess.Popen(['sleep', '30'], start_new_session=True)\n"  # setsid: out of the kernel's session
        "print(json.dumps([os.getpid(), p.pid]))"))
    host_pids = set(sandbox.cgroup.pids())
    # The pids the kernel sees are its namespace's; the group holds the host's: the kernel and a sleep among them.
    names = {psutil.Process(p).name() for p in host_pids}
    assert "sleep" in names and len(host_pids) >= 2, (pids, names)


def test_shared_memory_counts_against_the_group(sandbox):
    """A shared anonymous mapping is no process's data (RLIMIT_DATA misses it); the group counts it."""
    limit = int((sandbox.cgroup.folders.get("memory") or sandbox.cgroup.folders[""]).joinpath(
        "memory.limit_in_bytes" if sandbox.cgroup.hierarchy.version == 1 else "memory.max").read_text())
    assert limit < 3 * 2**30, "the limit is not in force: no bomb"
    run = sandbox.run(
        "import mmap\n"
        "m = mmap.mmap(-1, 3 * 2**30, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)\n"
        "for i in range(0, len(m), 4096):\n"
        "    m[i] = 1\n"
        "print('touched it all')")
    assert run.status in ("died", "error"), run.outputs  # the kernel is killed (or the mapping refused)
    assert sandbox.cgroup.memory_peak() <= limit


def test_freezing_stops_every_process_and_thawing_resumes_them(sandbox):
    sandbox.run("import subprocess, os\n"
                "p = subprocess.Popen(['sh', '-c', 'while true; do echo x >> ticks; sleep 0.01; done'],"
                " start_new_session=True)")
    ticks = Path(sandbox.workdir) / "ticks"
    time.sleep(0.5)
    with sandbox.frozen():
        before = ticks.stat().st_size
        time.sleep(0.5)
        assert ticks.stat().st_size == before  # nothing ran
    time.sleep(0.5)
    assert ticks.stat().st_size > before


def test_closing_removes_the_group_and_kills_what_hid_from_the_tree():
    sb = Sandbox(Limits(cell_timeout=30), isolate=True)
    sb.start()
    sb.run("import subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)")
    folders = list(sb.cgroup.folders.values())
    pids = sb.cgroup.pids()
    assert pids and all(f.is_dir() for f in folders)
    sb.close()
    assert not any(f.exists() for f in folders)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)


def test_a_killed_graders_groups_are_swept(tmp_path):
    import subprocess
    import sys

    code = ("from autograder.sandbox.cgroups import Cgroup\n"
            "g = Cgroup.create(2**30, 16)\n"
            "print([str(f) for f in g.folders.values()], flush=True)\n"
            "import time; time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    folders = [Path(f) for f in json.loads(proc.stdout.readline().replace("'", '"'))]
    assert all(f.is_dir() for f in folders)
    proc.kill()
    proc.wait()
    assert cgroups.sweep_stale() >= 1
    assert not any(f.exists() for f in folders)

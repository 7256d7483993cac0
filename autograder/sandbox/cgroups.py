"""Control groups for sandboxes: a submission's memory, processes and CPU share, counted whole and frozen at will.

rlimits count one process at a time and miss what is not a process's own: a
tmpfs's pages, ``/dev/shm``, shared mappings, sixteen processes that each
called ``setsid``. A control group counts all of a sandbox's processes
together, however many sessions they start: its memory (tmpfs and shared
pages included), its number of tasks, and its share of the CPU, which is the
same for every sandbox (so a submission that spins up forty processes takes
one sandbox's share, not forty); and it can freeze them all while the judge
times a baseline, and kill them all at the end.

The groups are made only beneath the grader's own group for each controller
(the path ``/proc/self/cgroup`` names), so a grader inside a container or a
systemd slice stays inside its own limits; no process is moved out of the
tree it started in (a sandbox's processes are put in its group by a wrapper
they are started through); every group made is removed, and those of a
killed grader are swept (their names carry the grader's pid and start time).

The cgroup v1 controllers (``/sys/fs/cgroup/{memory,cpu,pids,freezer}``) are
used where they are mounted and writable, as on these machines; the unified
hierarchy (v2) where it is the only one and our group delegates the
controllers. Elsewhere (not root, no cgroupfs) ``status`` says why and the
sandbox keeps its rlimits alone, as its results record.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import signal
import time
from pathlib import Path

import psutil

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "cpu", "pids", "freezer")
V2_CONTROLLERS = ("memory", "cpu", "pids")
PREFIX = "dlg-"
#: Every sandbox's CPU weight: equal shares (cgroup v1's cpu.shares; v2's cpu.weight is its default, 100).
CPU_SHARES = 1024


def _own_paths() -> dict[str, str]:
    """This process's group in each hierarchy, by controller ("" for the unified one), from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """Where this process's sandboxes' groups go: a parent folder per controller, and the cgroup version."""

    version: int
    parents: dict[str, Path]  # controller -> the grader's own group's folder


@functools.lru_cache(maxsize=1)
def _hierarchy() -> tuple[Hierarchy | None, str]:
    if os.geteuid() != 0:
        return None, "the grader is not root, so it cannot make control groups"
    try:
        own = _own_paths()
    except OSError as e:
        return None, f"/proc/self/cgroup cannot be read ({e.strerror})"
    if all((ROOT / c).is_dir() for c in V1_CONTROLLERS):
        parents = {c: ROOT / c / own.get(c, "/").lstrip("/") for c in V1_CONTROLLERS}
        return _writable(Hierarchy(1, parents))
    unified = ROOT / own.get("", "/").lstrip("/")
    subtree = unified / "cgroup.subtree_control"
    controllers = subtree.read_text().split() if subtree.exists() else []
    if all(c in controllers for c in V2_CONTROLLERS):
        return _writable(Hierarchy(2, {"": unified}))
    return None, ("no writable cgroup hierarchy: the v1 controllers are not all mounted and the unified one does "
                  f"not delegate {', '.join(V2_CONTROLLERS)} to this process's group")


def _writable(hierarchy: Hierarchy) -> tuple[Hierarchy | None, str]:
    probe = f"{PREFIX}probe-{os.getpid()}-{secrets.token_hex(4)}"
    made = []
    try:
        for parent in hierarchy.parents.values():
            (parent / probe).mkdir()
            made.append(parent / probe)
        return hierarchy, f"cgroup v{hierarchy.version}"
    except OSError as e:
        return None, f"cannot make a control group beneath the grader's own ({e.strerror})"
    finally:
        for folder in made:
            folder.rmdir()


def status() -> tuple[bool, str]:
    """Whether sandboxes get control groups here, and which version or why not."""
    hierarchy, why = _hierarchy()
    return hierarchy is not None, why


def _owner() -> str:
    """This process as a group's name carries it: pid and start time in centiseconds (pids are reused)."""
    return f"{os.getpid()}-{int(psutil.Process().create_time() * 100)}"


class Cgroup:
    """One sandbox's control group(s): made with ``create``, processes started through ``enter_argv``."""

    def __init__(self, hierarchy: Hierarchy, name: str):
        self.hierarchy = hierarchy
        self.name = name
        self.folders = {c: parent / name for c, parent in hierarchy.parents.items()}

    @classmethod
    def create(cls, memory_bytes: int, tasks: int) -> Cgroup | None:
        """A new group with these limits; None where control groups cannot be used (see ``status``)."""
        hierarchy, _ = _hierarchy()
        if hierarchy is None:
            return None
        group = cls(hierarchy, f"{PREFIX}{_owner()}-{secrets.token_hex(6)}")
        try:
            for folder in group.folders.values():
                folder.mkdir()
            group._limit(memory_bytes, tasks)
        except OSError:
            group.remove()
            return None
        return group

    def _limit(self, memory_bytes: int, tasks: int) -> None:
        if self.hierarchy.version == 1:
            (self.folders["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = self.folders["memory"] / "memory.memsw.limit_in_bytes"
            if swap.exists():  # no swapping past the limit either
                swap.write_text(str(memory_bytes))
            (self.folders["pids"] / "pids.max").write_text(str(tasks))
            (self.folders["cpu"] / "cpu.shares").write_text(str(CPU_SHARES))
        else:
            folder = self.folders[""]
            (folder / "memory.max").write_text(str(memory_bytes))
            swap = folder / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
            (folder / "pids.max").write_text(str(tasks))

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid into to join the group (one per hierarchy)."""
        return [str(folder / "cgroup.procs") for folder in self.folders.values()]

    def enter_argv(self) -> list[str]:
        """A prefix for a command: it joins the group, then execs the rest, so all it starts is in the group."""
        files = " ".join(f"'{f}'" for f in self.procs_files)
        return ["/bin/sh", "-c", f'for f in {files}; do echo $$ > "$f" || exit 111; done; exec "$@"', "dlgrade-cgroup"]

    def add(self, pid: int) -> None:
        """Put a process (not yet running submission code) into the group."""
        for procs in self.procs_files:
            Path(procs).write_text(str(pid))

    def pids(self) -> list[int]:
        folder = self.folders["pids" if self.hierarchy.version == 1 else ""]
        try:
            return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def freeze(self) -> None:
        """Stop every process of the group until ``thaw`` (a baseline is timed meanwhile)."""
        self._set_frozen(True)

    def thaw(self) -> None:
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        if self.hierarchy.version == 1:
            state = self.folders["freezer"] / "freezer.state"
            state.write_text("FROZEN" if frozen else "THAWED")
            for _ in range(200):  # FREEZING until every task has stopped
                if state.read_text().strip() == ("FROZEN" if frozen else "THAWED"):
                    return
                time.sleep(0.005)
        else:
            (self.folders[""] / "cgroup.freeze").write_text("1" if frozen else "0")

    def memory_peak(self) -> int:
        """The most memory the group held at once, in bytes (0 where the kernel does not say)."""
        name = "memory.max_usage_in_bytes" if self.hierarchy.version == 1 else "memory.peak"
        folder = self.folders["memory" if self.hierarchy.version == 1 else ""]
        try:
            return int((folder / name).read_text())
        except (OSError, ValueError):
            return 0

    def kill(self) -> None:
        """Kill every process of the group, frozen first so that none can start another meanwhile."""
        try:
            self.freeze()
        except OSError:
            pass
        for _ in range(20):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.thaw()  # killed tasks die only once they run
            except OSError:
                pass
            time.sleep(0.02)

    def remove(self) -> None:
        """Kill what is left and remove the group's folders (rmdir: a group's files go with it)."""
        if self.pids():
            self.kill()
        for folder in self.folders.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still emptying
                    time.sleep(0.02)


def sweep_stale() -> int:
    """Remove the groups of graders that are gone (killed with SIGKILL, say); how many."""
    hierarchy, _ = _hierarchy()
    if hierarchy is None:
        return 0
    removed = 0
    for parent in hierarchy.parents.values():
        for folder in parent.glob(f"{PREFIX}*"):
            parts = folder.name[len(PREFIX):].split("-")
            if len(parts) < 3 or not parts[0].isdigit() or not parts[1].isdigit():
                continue
            try:
                alive = int(psutil.Process(int(parts[0])).create_time() * 100) == int(parts[1])
            except psutil.Error:
                alive = False
            if not alive:
                Cgroup(hierarchy, folder.name).remove()
                removed += 1
    return removed

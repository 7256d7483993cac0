"""An honest classmate graded beside a CPU hog and a memory hog gets exactly the grade it gets alone.

The three are graded as one batch with three workers, so they run at once;
each hog's last cells keep it running for longer than the classmate's whole
grading. The CPU hog is sixteen processes that each start
a session of their own and spin (per-session scheduling would give each a
share); the memory hog touches a shared anonymous mapping far larger than
its limit (which ``RLIMIT_DATA`` does not count). Every sandbox's control
group holds them: one CPU share per sandbox, memory counted whole.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from autograder import batch
from autograder.sandbox import cgroups

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel]

HOGS = {
    "cpu_hog": (
        "import os\n"
        "for _ in range(16):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        while True:\n"
        "            pass\n"
    ),
    "memory_hog": (
        "import mmap, os\n"
        "def touch():\n"
        "    m = mmap.mmap(-1, 5 * 2**30, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)\n"
        "    for i in range(0, len(m), 4096):\n"
        "        m[i] = 1\n"
        "    os._exit(0)\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    touch()\n"
        "print('TOUCHED', os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))  # -9: killed at its limit\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    while True:  # and again, while the classmate is graded\n"
        "        if os.fork() == 0:\n"
        "            touch()\n"
        "        os.wait()\n"
    ),
}


def _failed(result) -> list[str]:
    return sorted(f"{t.question}/{t.name}" for q in result.questions for t in q.tests if t.status != "passed")


@pytest.fixture(scope="module")
def bundle(mini):
    """mini as it is: its call limit (30 s) allows for TensorFlow's import on two busy cores, not on a starved one."""
    return mini[1]


@pytest.fixture(scope="module")
def alone(bundle, tmp_path_factory):
    """The honest classmate (mini's reference), graded alone."""
    folder = tmp_path_factory.mktemp("alone")
    shutil.copy(bundle.reference, folder / "honest.ipynb")
    result = batch.run(bundle, [folder / "honest.ipynb"], folder / "out").results[0]
    assert result.status == "graded" and result.score == result.possible, _failed(result)
    return result


@pytest.mark.skipif(not cgroups.status()[0], reason=f"no control groups here: {cgroups.status()[1]}")
def test_an_honest_classmate_beside_two_hogs_gets_its_grade_alone(bundle, alone, tmp_path):
    reference = nbformat.read(bundle.reference, 4)
    folder = tmp_path / "class"
    folder.mkdir()
    nbformat.write(reference, folder / "honest.ipynb")
    # Nothing but the hogs, kept running while the classmate is graded (their own grade is nothing).
    awake = [nbformat.v4.new_code_cell("import time\ntime.sleep(9)")] * 3  # mini's cells get 10 s each
    for hog, source in HOGS.items():
        greedy = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source), *awake])
        nbformat.write(greedy, folder / f"{hog}.ipynb")
    # Three workers: the classmate and both hogs at once, on however few cores.
    report = batch.run(bundle, sorted(folder.iterdir()), tmp_path / "beside", batch.GradeOptions(workers=3))
    results = {r.student: r for r in report.results}
    beside = results["honest"]
    assert (beside.score, _failed(beside)) == (alone.score, _failed(alone))
    assert all("cgroup" in r.limits for r in results.values())
    # 5 GB of shared pages, which RLIMIT_DATA does not count: the group stopped it.
    executed = nbformat.read(tmp_path / "beside" / "memory_hog" / "executed.ipynb", 4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "TOUCHED -9" in printed, printed

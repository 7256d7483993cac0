"""Plain Otter assignments graded by Otter's own runner inside our sandbox.

The demo master notebook (``tests/otter_mode/fixtures/demo/demo.ipynb``: three questions,
public and hidden tests, points split across cases) goes through ``otter
assign`` once per session in each test format. Every score OtterGrader gives
is compared with ``otter run`` on the host for the same file; those reference
runs go on in a background thread while the sandboxed ones run here, so that
both cores work.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest
import saved_as

from autograder.errors import OtterBundleError
from autograder.otter_mode import OtterBundle, OtterGrader, launcher
from autograder.otter_mode.grader import CELL_RECORD, CellLog, notebook_name_of, outcome, read_cell_log, read_results
from autograder.otter_mode.test_files import parse_test_file
from autograder.results import read as read_result
from autograder.sandbox.kernel import Sandbox
from autograder.sandbox.output import CommandRun
from autograder.spec import Limits

MASTER = Path(__file__).parent / "fixtures" / "demo" / "demo.ipynb"
FORMATS = ("exception", "ok")
needs_bwrap = pytest.mark.bwrap

#: The answers of each submission, in the order of the notebook's answer cells (q1, q2, q3).
CORRECT = ["def square(x):\n    return x * x", "def mean(xs):\n    return sum(xs) / len(xs)", 'greeting = "hello"']
#: q1 right; q2 passes its public test and fails its hidden one (1 of 3 points); q3 wrong.
PARTLY_WRONG = [CORRECT[0], "def mean(xs):\n    return sum(xs) // len(xs)", 'greeting = "hi"']
#: What otter run gives each of them (checked here too, so that a broken reference cannot pass).
EXPECTED = {"correct": {"q1": 2, "q2": 3, "q3": 1}, "partly_wrong": {"q1": 2, "q2": 1, "q3": 0},
            "empty": {"q1": 0, "q2": 0, "q3": 0}}
#: A cell that goes on when interrupted (time.sleep, unlike a busy loop under ipykernel 7, lets the cell's own
#: ``except KeyboardInterrupt`` catch the interrupt); the batch test's loop is the cell that is simply stopped.
STUCK = "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except KeyboardInterrupt:\n        pass"
#: Where it goes in the student's notebook (cells counted from 1, as notes count them): after the cell that
#: makes the grader, before any answer.
STUCK_CELL = 4


# -- fixtures: the assignment built twice, submissions, reference runs ---------------------


@dataclasses.dataclass
class Demo:
    zips: dict[str, Path]  # format -> autograder zip
    subs: dict[tuple[str, str], Path]  # (format, kind) -> submission


def _answered(student_nb: Path, answers: list[str], extra_cells: list[str] = (),
              inserted: tuple[int, str] | None = None) -> nbformat.NotebookNode:
    """The student's notebook with ``answers``, ``extra_cells`` at its end and ``inserted`` = (number, source),
    a cell that becomes cell ``number`` (counted from 1)."""
    nb = nbformat.read(student_nb, 4)
    cells = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    assert len(cells) == len(answers)
    for cell, answer in zip(cells, answers, strict=True):
        cell.source = answer
    nb.cells += [nbformat.v4.new_code_cell(textwrap.dedent(src).strip()) for src in extra_cells]
    if inserted is not None:
        nb.cells.insert(inserted[0] - 1, nbformat.v4.new_code_cell(inserted[1]))
    return nb


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    """``otter assign`` on the demo, exception-format and OK-format (both at once), and the submissions."""
    procs, folders = {}, {}
    for fmt in FORMATS:
        folder = folders[fmt] = tmp_path_factory.mktemp(f"otter-{fmt}")
        nb = nbformat.read(MASTER, 4)
        config = nb.cells[0]
        assert "ok_format: false" in config.source
        config.source = config.source.replace("ok_format: false", f"ok_format: {str(fmt == 'ok').lower()}")
        nbformat.write(nb, folder / "demo.ipynb")
        procs[fmt] = subprocess.Popen([sys.executable, "-m", "otter", "assign", "--no-run-tests", "demo.ipynb",
                                       "dist"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    zips, subs = {}, {}
    secret = tmp_path_factory.mktemp("host-only") / "greeting.txt"  # outside any sandbox
    secret.write_text("hello")
    for fmt, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-3000:]
        [zips[fmt]] = (folders[fmt] / "dist" / "autograder").glob("demo-autograder_*.zip")
        student = folders[fmt] / "dist" / "student" / "demo.ipynb"
        made = {
            # q3's variable is reused after its check cell, as students do: q3 counts only if Otter
            # checks it where the answer stands, which needs grader = otter.Notebook("demo.ipynb").
            "correct": _answered(student, CORRECT, ['greeting = "bye"  # reused for something else']),
            "partly_wrong": _answered(student, PARTLY_WRONG),
            "empty": nbformat.read(student, 4),
            "loop": _answered(student, CORRECT[:2] + ["while True:\n    pass"]),
            "stuck": _answered(student, CORRECT, inserted=(STUCK_CELL, STUCK)),
            "planted": _answered(student, CORRECT[:2] + [f"greeting = open({str(secret)!r}).read()"]),
        }
        for kind, nb in made.items():
            folder = folders[fmt] / "submissions" / kind
            folder.mkdir(parents=True)
            subs[fmt, kind] = folder / "demo.ipynb"
            nbformat.write(nb, subs[fmt, kind])
    # The file as Canvas hands it back, renamed.
    renamed = subs["exception", "correct"].with_name("smithjane_123_456_demo.ipynb")
    renamed.write_bytes(subs["exception", "correct"].read_bytes())
    subs["exception", "renamed"] = renamed
    return Demo(zips=zips, subs=subs)


def otter_run_scores(zip_path: Path, notebook: Path, out: Path) -> dict[str, float]:
    """Per-question scores from ``otter run`` on the host (no Docker): the reference."""
    out.mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zip_path), "-o", str(out),
                           str(notebook)], cwd=out, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    data = json.loads((out / "results.json").read_text())
    return {t["name"]: t["score"] for t in data["tests"] if "score" in t}


@pytest.fixture(scope="session")
def references(demo, tmp_path_factory):
    """(format, kind) -> a future of ``otter run``'s scores, computed one at a time in the background."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    jobs = [(fmt, kind) for fmt in FORMATS for kind in EXPECTED if (fmt, kind) != ("exception", "empty")]
    jobs += [("exception", "planted")]
    futures = {job: pool.submit(otter_run_scores, demo.zips[job[0]], demo.subs[job],
                                tmp_path_factory.mktemp("otter-run") / "out") for job in jobs}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def graders(demo):
    with OtterGrader(OtterBundle.load(demo.zips["exception"], timeout_s=300), isolate=True) as exc, \
            OtterGrader(OtterBundle.load(demo.zips["ok"], timeout_s=300), isolate=True) as ok:
        yield {"exception": exc, "ok": ok}


def scores(result) -> dict[str, float]:
    return {q.name: q.score for q in result.questions}


# -- Sandbox.run_command ----------------------------------------------------------------


@needs_bwrap
def test_run_command_gives_exit_code_and_output_from_inside_the_jail():
    with Sandbox(Limits(max_processes=64), isolate=True) as sb:
        run = sb.run_command(["sh", "-c", 'echo "uid=$(id -u) cwd=$PWD home=$HOME x=$X"; echo oops >&2; exit 3'],
                             timeout=30, env={"X": "42"})
        assert run.returncode == 3 and not run.timed_out and run.seconds < 10
        assert f"cwd={sb.workdir} home={sb.workdir} x=42" in run.output and "oops" in run.output
        if os.geteuid() == 0:
            assert f"uid={sb.uid}" in run.output and sb.uid >= 200_000
        probe = "import resource, os; print(resource.getrlimit(resource.RLIMIT_NPROC)[0], os.getpid())"
        limits = sb.run_command([sys.executable, "-c", probe], timeout=30)
        nproc, pid = map(int, limits.output.split())
        assert nproc == 64 and pid < 10  # the limits, and a pid namespace of its own


@needs_bwrap
def test_run_command_cannot_see_a_file_planted_on_the_host(tmp_path):
    planted = tmp_path / f"secret-{uuid.uuid4().hex}.txt"
    planted.write_text("hidden answers")
    with Sandbox(Limits(), isolate=True) as sb:
        run = sb.run_command(["cat", str(planted)], timeout=30)
        assert run.returncode != 0 and "hidden answers" not in run.output
        assert "No such file" in run.output
        outside = sb.run_command(["sh", "-c", f"echo x > {tmp_path}/evil"], timeout=30)
        assert outside.returncode != 0 and not (tmp_path / "evil").exists()
        assert sb.run_command(["sh", "-c", "echo y > mine.txt"], timeout=30).returncode == 0
        assert (sb.workdir / "mine.txt").read_text() == "y\n"


@needs_bwrap
def test_run_command_past_its_time_limit_is_killed_with_everything_it_started():
    import psutil

    marker = f"dlgrade-test-{uuid.uuid4().hex[:8]}"
    with Sandbox(Limits(), isolate=True) as sb:
        started = time.monotonic()
        run = sb.run_command(["bash", "-c", f"(exec -a {marker} sleep 300) & echo started; sleep 300"], timeout=2)
        assert run.timed_out and run.returncode < 0 and "started" in run.output
        assert 1.5 < run.seconds < 15 and time.monotonic() - started < 20
        time.sleep(0.5)
        left = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
        assert not left, f"processes left behind: {left}"
        assert sb.run_command(["true"], timeout=30).returncode == 0  # the sandbox is still usable


@needs_bwrap
def test_run_command_keeps_only_the_tail_of_a_flood_of_output():
    with Sandbox(Limits(output_chars=1000), isolate=True) as sb:
        run = sb.run_command([sys.executable, "-c", "for i in range(100000): print('line', i)"], timeout=60)
        assert run.returncode == 0 and run.truncated
        assert len(run.output) <= 1000 and run.output.rstrip().endswith("line 99999")


# -- loading autograder zips --------------------------------------------------------------


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


EXC_TEST = """\
from otter.test_files import test_case
OK_FORMAT = False
name = "q1"
points = 3

@test_case(points=None, hidden=False)
def t1(f):
    assert f(1) == 1

@test_case(points=2, hidden=True)
def t2(f):
    assert f(2) == 4
"""


def test_bad_zips_give_clear_errors(tmp_path):
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"this is not a zip at all")
    with pytest.raises(OtterBundleError, match=r"garbage\.zip: not a zip file, or a damaged one"):
        OtterBundle.load(garbage, notebook_name="hw.ipynb")
    with pytest.raises(OtterBundleError, match=r"missing\.zip: not found"):
        OtterBundle.load(tmp_path / "missing.zip")
    no_tests = _zip(tmp_path / "no_tests.zip", {"otter_config.json": "{}", "run_otter.py": ""})
    with pytest.raises(OtterBundleError, match=r"no_tests\.zip: no tests/\*\.py"):
        OtterBundle.load(no_tests, notebook_name="hw.ipynb")
    bad_config = _zip(tmp_path / "bad_config.zip", {"otter_config.json": "{nope", "tests/q1.py": EXC_TEST})
    with pytest.raises(OtterBundleError, match=r"bad_config\.zip: otter_config\.json: not valid JSON"):
        OtterBundle.load(bad_config, notebook_name="hw.ipynb")
    r_lang = _zip(tmp_path / "r.zip", {"otter_config.json": '{"lang": "r"}', "tests/q1.py": EXC_TEST})
    with pytest.raises(OtterBundleError, match="only Python assignments"):
        OtterBundle.load(r_lang, notebook_name="hw.ipynb")
    broken = _zip(tmp_path / "broken.zip", {"tests/q1.py": "OK_FORMAT = False\nname = 'q1'\ndef (:\n"})
    with pytest.raises(OtterBundleError, match=r"broken\.zip: tests/q1\.py: not valid Python \(line 3"):
        OtterBundle.load(broken, notebook_name="hw.ipynb")
    computed = _zip(tmp_path / "computed.zip", {"tests/q1.py": EXC_TEST.replace("points = 3", "points = 6 / 2")})
    with pytest.raises(OtterBundleError, match=r"tests/q1\.py: points is not a literal value"):
        OtterBundle.load(computed, notebook_name="hw.ipynb")


def test_notebook_name_comes_from_the_flag_otter_assigns_zip_name_or_each_submission(tmp_path):
    files = {"otter_config.json": "{}", "tests/q1.py": EXC_TEST}
    plain = _zip(tmp_path / "autograder.zip", files)
    assert OtterBundle.load(plain).spec.notebook == ""  # otter generate's zip: each submission says its name
    cell = nbformat.v4.new_code_cell('import otter\ngrader = otter.Notebook("hw1.ipynb")')
    says = nbformat.v4.new_notebook(cells=[cell])
    assert notebook_name_of(says, Path("smithjane_1_2_anything.ipynb")) == "hw1.ipynb"
    silent = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert notebook_name_of(silent, Path("smithjane_1_2_hw1-1.ipynb")) == "hw1.ipynb"  # Canvas's name taken off
    assert notebook_name_of(silent, Path("export.zip")) == "notebook.ipynb"
    given = OtterBundle.load(plain, notebook_name="hw1.ipynb", timeout_s=45)
    assert given.spec.notebook == "hw1.ipynb" and given.spec.id == "autograder"
    assert given.spec.limits.notebook_timeout == 45
    with pytest.raises(OtterBundleError, match="must be a plain file name ending in .ipynb"):
        OtterBundle.load(plain, notebook_name="../hw1.ipynb")
    assigned = _zip(tmp_path / "lab03-autograder_2025_01_31T09_15_00_123456.zip", files)
    bundle = OtterBundle.load(assigned)
    assert bundle.spec.notebook == "lab03.ipynb" and bundle.spec.id == "lab03"
    assert {q: v.points for q, v in bundle.spec.questions.items()} == {"q1": 3.0}
    assert [(c.name, c.points, c.hidden) for c in bundle.cases["q1"]] == [("q1 - 1", 1.0, False), ("q1 - 2", 2.0, True)]


OK_TEST = """\
OK_FORMAT = True
test = {"name": "q2", "points": %s, "suites": [{"type": "doctest", "cases": [
    {"code": ">>> f(1)\\n1", "hidden": False%s},
    {"code": ">>> f(2)\\n4"},
    {"code": ">>> f(3)\\n9", "hidden": False}]}]}
"""


@pytest.mark.parametrize("source", [
    EXC_TEST,
    EXC_TEST.replace("points = 3", "points = None"),
    EXC_TEST.replace("points = 3", "points = [0.5, 1.5]").replace("points=2", "points=None"),
    EXC_TEST.replace("points = 3\n", "").replace("points=2", "points=0"),
    EXC_TEST.replace("points = 3", "points = 3\nall_or_nothing = True")
            .replace("points=None, hidden=False", "'custom', 0.5, False"),
    OK_TEST % ("None", ""),
    OK_TEST % ("4", ""),
    OK_TEST % ("[1, 2, 3]", ""),
    OK_TEST % ("5", ', "points": 2'),
])
def test_points_are_read_as_otter_reads_them(source, tmp_path):
    """The ast reading gives what Otter's own parser (which runs the file) gives."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    path = tmp_path / "q.py"
    path.write_text(source)
    otter_file = create_test_file(str(path), NBMetadataConfig())
    name, cases = parse_test_file(source, str(path))
    assert name == otter_file.name
    assert [(c.name, c.points, c.hidden) for c in cases] == \
           [(tc.name, tc.points, tc.hidden) for tc in otter_file.test_cases]
    assert sum(c.points for c in cases) == pytest.approx(otter_file.possible)


def test_points_otter_would_refuse_are_refused():
    with pytest.raises(OtterBundleError, match="More points specified in test cases than allowed"):
        parse_test_file(EXC_TEST.replace("points = 3", "points = 1"), "tests/q1.py")
    with pytest.raises(OtterBundleError, match="different length"):
        parse_test_file(EXC_TEST.replace("points = 3", "points = [1, 2, 3]"), "tests/q1.py")


# -- mapping Otter's results ------------------------------------------------------------------


@pytest.fixture()
def small_bundle(tmp_path):
    files = {"tests/q1.py": EXC_TEST, "tests/q2.py": OK_TEST % ("4", "")}
    return OtterBundle.load(_zip(tmp_path / "hw-autograder_2025_01_31T09_15_00_123456.zip", files), timeout_s=60)


def _run(output: str = "", returncode: int = 0, timed_out: bool = False) -> CommandRun:
    return CommandRun(returncode=returncode, output=output, seconds=1.0, timed_out=timed_out)


def test_outcomes_for_what_otter_can_leave_behind(small_bundle):
    assert outcome(small_bundle, _run(timed_out=True, returncode=-9), None) == \
        ("rejected", [], "ran past the 60 s time limit; not graded")
    status, _, message = outcome(small_bundle, _run("...\nnbclient.exceptions.DeadKernelError: Kernel died", 1), None)
    assert status == "rejected" and "kernel died" in message
    status, _, message = outcome(small_bundle, _run("ModuleNotFoundError: No module named 'otter'", 1), None)
    assert status == "error" and "exit code 1" in message and "No module named 'otter'" in message
    refused = {"score": 0, "tests": [{"name": "Autograder Error", "output": "Otter encountered an error when "
                                      "grading this submission:\n\nReceived submission for assignment 'x'"}]}
    status, tests, message = outcome(small_bundle, _run(), json.dumps(refused).encode())
    assert status == "rejected" and not tests and "Received submission for assignment 'x'" in message
    assert outcome(small_bundle, _run(), b"[1, 2")[0] == "rejected"


def test_scores_are_otters_clamped_to_the_questions_points(small_bundle):
    data = {"tests": [{"name": "Public Tests", "output": "..."},
                      {"name": "q1", "score": 2, "max_score": 3, "output": "q1 results: ..."},
                      {"name": "q2", "score": 1e9, "max_score": 4, "output": "q2 results: All test cases passed!"},
                      {"name": "q9", "score": 5, "max_score": 5}]}
    status, tests, message = outcome(small_bundle, _run(), json.dumps(data).encode())
    assert status == "graded" and message == ""
    q1, q2 = tests
    assert (q1.points, q1.max_points, q1.status, q1.hidden, q1.message) == (2, 3, "failed", True, "q1 results: ...")
    assert (q2.points, q2.status) == (4, "passed") and "outside 0..4" in q2.notes[0]


def test_results_are_never_read_through_a_link(tmp_path):
    secret = tmp_path / "grader-secret.json"
    secret.write_text('{"tests": []}')
    (tmp_path / "work" / "otter-results").mkdir(parents=True)
    (tmp_path / "work" / "otter-results" / "results.json").symlink_to(secret)
    raw, problem = read_results(tmp_path / "work")
    assert raw is None and "a link?" in problem
    (tmp_path / "work" / "otter-results" / "results.json").unlink()
    assert read_results(tmp_path / "work") == (None, "")
    os.rmdir(tmp_path / "work" / "otter-results")
    (tmp_path / "work" / "otter-results").symlink_to(tmp_path)
    raw, problem = read_results(tmp_path / "work")
    assert raw is None and "is a link or not a folder" in problem


def test_the_launchers_record_of_the_cells_is_read_back_as_data(small_bundle, tmp_path):
    (tmp_path / "otter-results").mkdir()
    record = launcher.Record(str(tmp_path / CELL_RECORD), limit_s=0.05)
    interrupted = {"content": {"status": "error", "ename": "KeyboardInterrupt"}}
    record.start(7)
    time.sleep(0.06)
    record.end(7, interrupted)  # stopped at the limit
    record.start(8)
    record.end(8, interrupted)  # raised KeyboardInterrupt itself, at once: not the limit's doing
    record.start(9)
    record.end(9, {"content": {"status": "ok"}})
    record.start(12)
    log = read_cell_log(tmp_path, 0.05, ended=time.time() + 5)
    assert [cell for cell, _ in log.stopped] == [7] and log.running == 12 and 4.9 < log.running_s < 6
    assert log.notes() == ["cell 7: stopped after 0 s (the limit per cell is 0.05 s); the cells after it and "
                           "Otter's tests still ran"]
    assert outcome(small_bundle, _run(timed_out=True, returncode=-9), None, cells=log)[2] == (
        "ran past the 60 s time limit; not graded: cell 12 was still running after it was interrupted at the "
        "0.05 s limit per cell (code that catches KeyboardInterrupt goes on)")
    died = outcome(small_bundle, _run("nbclient.exceptions.DeadKernelError: Kernel died", 1), None,
                   cells=CellLog(120, running=3, running_s=1))
    assert died[2].startswith("the notebook's kernel died while Otter ran it (cell 3 was running)")
    # What the notebook's code may leave there instead is read as no record at all.
    for planted in ("[1, 2", '["not", "a", "record"]', '{"stopped": [{"cell": true, "seconds": 1}], "running": 0}'):
        (tmp_path / CELL_RECORD).write_text(planted)
        assert read_cell_log(tmp_path, 2, ended=time.time()) == CellLog(2)
    (tmp_path / CELL_RECORD).unlink()
    (tmp_path / CELL_RECORD).symlink_to(tmp_path / "elsewhere.json")
    assert read_cell_log(tmp_path, 2, ended=time.time()) == CellLog(2)


def test_the_limit_per_cell_is_half_the_whole_runs_at_most_dlgrades_own(small_bundle):
    zip_path = small_bundle.zip_path
    assert OtterBundle.load(zip_path).spec.limits.cell_timeout == 120  # 600 s for the whole run
    assert OtterBundle.load(zip_path, timeout_s=45).spec.limits.cell_timeout == 22.5
    assert OtterBundle.load(zip_path, timeout_s=45, cell_timeout_s=45).spec.limits.cell_timeout == 45
    for bad in (0, -1, 46, float("nan")):
        with pytest.raises(OtterBundleError, match="the time limit per cell must be positive and no longer"):
            OtterBundle.load(zip_path, timeout_s=45, cell_timeout_s=bad)


# -- grading real submissions (slow: every otter run starts a kernel) ---------------------------


@pytest.mark.slow
def test_the_demo_bundles_questions_and_points(demo):
    for fmt in FORMATS:
        bundle = OtterBundle.load(demo.zips[fmt])
        assert bundle.spec.id == "demo" and bundle.spec.notebook == "demo.ipynb"
        assert {q: v.points for q, v in bundle.spec.questions.items()} == {"q1": 2, "q2": 3, "q3": 1}
        assert [c.hidden for c in bundle.cases["q2"]] == [False, True]
        assert bundle.unmet_requirements == []


@pytest.mark.slow
@needs_bwrap
# OK format, and an empty notebook: the batch test.
@pytest.mark.parametrize("fmt, kind", [("exception", kind) for kind in EXPECTED if kind != "empty"])
def test_scores_equal_otter_runs(demo, references, graders, fmt, kind, tmp_path):
    result = graders[fmt].grade(demo.subs[fmt, kind], tmp_path, student=f"{fmt}-{kind}")
    assert result.status == "graded" and result.isolation == "bubblewrap", result.message
    reference = references[fmt, kind].result()
    assert reference == EXPECTED[kind]
    assert scores(result) == reference
    written = read_result(tmp_path / f"{fmt}-{kind}" / "results.json")
    assert scores(written) == reference and (tmp_path / f"{fmt}-{kind}" / "feedback.html").exists()
    if kind == "partly_wrong":
        q2 = next(q for q in result.questions if q.name == "q2")
        assert q2.tests[0].status == "failed" and "assert mean([1, 2]) == 1.5" in q2.tests[0].message


@pytest.mark.slow
@needs_bwrap
def test_a_renamed_notebook_is_graded_under_the_assignments_name(demo, references, graders, tmp_path):
    result = graders["exception"].grade(demo.subs["exception", "renamed"], tmp_path)
    assert result.student == "smithjane_123_456_demo" and result.status == "graded"
    # otter run on the file as renamed gives q3 no points (its grader = otter.Notebook("demo.ipynb")
    # fails, so q3 is only checked at the end, after its variable was reused); on the file as the
    # student named it, full marks.
    assert scores(result) == references["exception", "correct"].result() == EXPECTED["correct"]


@pytest.fixture(scope="module")
def loop_then_next(demo, graders, tmp_path_factory):
    """A submission with a cell that goes on when interrupted, under a 20 s limit (1 s per cell), then the next
    submission of the batch."""
    out = tmp_path_factory.mktemp("after-loop")
    with OtterGrader(OtterBundle.load(demo.zips["exception"], timeout_s=20, cell_timeout_s=1), isolate=True) as short:
        started = time.monotonic()
        looped = short.grade(demo.subs["exception", "stuck"], out, student="stuck")
        looped_seconds = time.monotonic() - started
    following = graders["exception"].grade(demo.subs["exception", "planted"], out, student="planted")
    return looped, looped_seconds, following


@pytest.mark.slow
@needs_bwrap
def test_a_cell_that_goes_on_when_interrupted_is_ended_by_the_whole_limit_and_the_batch_goes_on(loop_then_next):
    looped, seconds, following = loop_then_next
    assert looped.status == "rejected", looped.message
    # The cell is named; and, unless Otter took the whole 20 s but 2 to reach it (a loaded machine), so is why.
    interrupted = "still running after it was interrupted at the 1 s limit per cell (code that catches " \
                  "KeyboardInterrupt goes on)"
    assert looped.message in (f"ran past the 20 s time limit; not graded: cell {STUCK_CELL} was {how}"
                              for how in (interrupted, "running")), looped.message
    assert looped.score == 0 and looped.possible == 6
    assert 19.5 < seconds < 40
    assert following.status == "graded" and scores(following)["q1"] == 2


@pytest.mark.slow
@needs_bwrap
def test_a_submission_cannot_read_a_file_planted_on_the_host(loop_then_next, references):
    following = loop_then_next[2]
    # otter run on the host reads it (the probe works) ...
    assert references["exception", "planted"].result() == EXPECTED["correct"]
    # ... in our sandbox it is not there.
    assert scores(following) == {"q1": 2, "q2": 3, "q3": 0}
    q3 = next(q for q in following.questions if q.name == "q3")
    assert "greeting" in q3.tests[0].message


@pytest.mark.slow
@needs_bwrap
def test_dlgrade_grade_otter_zip_batch_matches_otter_run(demo, references, tmp_path):
    """The command as an instructor runs it: OK-format tests, a folder, two workers, a time limit.

    The zip under ``otter generate``'s name, which records no notebook name: each submission's own
    ``otter.Notebook("demo.ipynb")`` says it. The notebooks as Otter's own grading fixtures are
    (nbformat 4.4, no cell ids), one renamed by Canvas, one saved by Colab, one that moves with os.chdir,
    one ending in exit() (scored as ``otter run`` scores it).
    """
    folder = tmp_path / "submissions"
    folder.mkdir()
    for kind in EXPECTED:
        (folder / f"{kind}.ipynb").write_bytes(saved_as.otter_assign(nbformat.read(demo.subs["ok", kind], 4)))
    correct = nbformat.read(demo.subs["ok", "correct"], 4)
    (folder / "smithjane_123_456_demo.ipynb").write_bytes(saved_as.otter_assign(correct))  # as Canvas renames it
    (folder / "colab.ipynb").write_bytes(saved_as.colab(correct))
    ends = nbformat.from_dict(correct)
    ends.cells.append(nbformat.v4.new_code_cell("exit()"))
    nbformat.write(ends, folder / "exit_last.ipynb")
    # os.chdir after the last check (where `otter run` itself loses every point: its last cell cannot find the
    # tests), after a Colab-only line: the scores of the correct notebook, and a note naming the line's cell.
    moves = nbformat.from_dict(correct)
    moves.cells.insert(-1, nbformat.v4.new_code_cell(
        "%tensorflow_version 2.x\nimport os, tempfile\nos.chdir(tempfile.mkdtemp())"))
    nbformat.write(moves, folder / "chdir.ipynb")
    shutil.copy(demo.subs["ok", "loop"], folder / "looper.ipynb")  # q3's answer loops for ever
    generated = tmp_path / "autograder.zip"
    shutil.copy(demo.zips["ok"], generated)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "--otter-zip", str(generated),
                           str(folder), "-o", str(out), "--workers", "2", "--timeout", "45", "--cell-timeout", "8"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "gradebook.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    for kind in EXPECTED:
        reference = references["ok", kind].result()
        assert reference == EXPECTED[kind]
        assert {q: float(rows[kind][q]) for q in reference} == reference
    assert {q: float(rows["smithjane_123"][q]) for q in EXPECTED["correct"]} == EXPECTED["correct"]
    assert {q: float(rows["colab"][q]) for q in EXPECTED["correct"]} == EXPECTED["correct"]
    assert {q: float(rows["chdir"][q]) for q in EXPECTED["correct"]} == EXPECTED["correct"], rows["chdir"]
    notes = read_result(out / "chdir" / "results.json").notes
    assert any(n.startswith(f"cell {len(moves.cells) - 1}: ") and "Colab-only" in n for n in notes), notes
    (tmp_path / "as-otter-names-it").mkdir()
    nbformat.write(ends, tmp_path / "as-otter-names-it" / "demo.ipynb")  # otter run needs the notebook's own name
    exit_reference = otter_run_scores(demo.zips["ok"], tmp_path / "as-otter-names-it" / "demo.ipynb",
                                      tmp_path / "otter-exit")
    assert {q: float(rows["exit_last"][q]) for q in exit_reference} == exit_reference  # whatever Otter makes of it
    # The loop is stopped at the limit per cell (--cell-timeout) and the rest graded: q3 unanswered.
    assert rows["looper"]["status"] == "graded"
    assert {q: float(rows["looper"][q]) for q in EXPECTED["correct"]} == {"q1": 2, "q2": 3, "q3": 0}
    notes = read_result(out / "looper" / "results.json").notes
    assert any(n.startswith("cell 11: stopped after ") and "(the limit per cell is 8 s)" in n for n in notes), notes

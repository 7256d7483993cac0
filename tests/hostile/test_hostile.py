"""The hostile corpus (tests/hostile/): every entry graded in one batch, each with its expected outcome.

Each entry tries one thing against the test course's ``mini`` assignment
(``tests/hostile/make_corpus.py`` says what). A secret token is planted where
a submission must not reach: the grader's bundle (beside the hidden tests),
another student's notebook and results, and the grader's environment. After
the batch: each entry has exactly its expected status, score and failed
tests; the token appears in no attacker's output; nothing was written on the
host, no process is left running, no server on the host was reached; the
victim's grade is what it is when graded alone. Controls show the checks can
fail: the same hunt run unsandboxed finds the secret, and a page with a live
script is caught by the same headless-Chromium check the reports pass.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import make_corpus  # the corpus's own generator: its large entries are made at test time
import nbformat
import numpy as np
import psutil
import pytest
import yaml
from support import ROOT, free_port

from autograder import batch
from autograder import results as results_mod
from autograder.build import load_bundle
from autograder.grading.notebook import NotebookGrader
from autograder.results import Bundle
from autograder.sandbox.host import UID_BASE, UID_RANGE

pytestmark = [pytest.mark.slow, pytest.mark.bwrap, pytest.mark.kernel]

CORPUS = ROOT / "tests" / "hostile"



@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that records whoever connects."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    seen, stop = [], threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, addr = server.accept()
                seen.append(addr)
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


class Corpus:
    def __init__(self, bundle: Bundle, folder: Path, out: Path, token: str, expected: dict, listen_port: int):
        self.bundle, self.folder, self.out, self.token = bundle, folder, out, token
        self.expected, self.listen_port = expected, listen_port
        self.results: dict[str, results_mod.GradingResult] = {}
        self.alone: results_mod.GradingResult | None = None
        self.processes_before: set[int] = set()


def fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.fixture(scope="module")
def corpus(mini, listener, tmp_path_factory):
    """Every entry of the corpus graded as one class, with two workers; the victim also graded alone first."""
    _, built = mini
    base = tmp_path_factory.mktemp("hostile")
    root = base / "bundle" / "mini"
    shutil.copytree(built.root, root)
    bundle = Bundle(load_bundle(root), root)
    token = f"SECRET-{secrets.token_hex(8)}"
    (root / "hidden" / "secret.txt").write_text(token)
    np.save(root / "hidden" / "secret.npy", np.frombuffer(token.encode(), dtype=np.uint8))
    folder, out = base / "submissions", base / "out"
    folder.mkdir()
    port, _ = listener
    listen_port = free_port()
    mark = secrets.token_hex(6)
    values = {"bundle": str(root), "submissions": str(folder), "out": str(out), "token": token, "mark": mark,
              "port": str(port), "listen_port": str(listen_port)}
    expected = yaml.safe_load((CORPUS / "expected.yaml").read_text())
    for entry in sorted(CORPUS.iterdir()):
        if expected.get(entry.stem, {}).get("status") == "graded":  # a notebook: its placeholders filled in
            (folder / entry.name).write_text(fill(entry.read_text(), values))
        elif entry.suffix in (".ipynb", ".zip"):  # malformed: as it is
            shutil.copy(entry, folder / entry.name)
    expected.update(make_corpus.make_large(folder))
    state = Corpus(bundle, folder, out, token, expected, listen_port)
    state.mark = mark
    # Entries that import TensorFlow in a cell get limits that allow for it on a busy machine; the rest
    # keep mini's short ones, so that what hangs costs seconds.
    slow = base / "bundle-tf" / "mini"
    shutil.copytree(root, slow)
    spec = yaml.safe_load((slow / "assignment.yaml").read_text())
    spec["limits"].update(cell_timeout_s=90, call_timeout_s=90, notebook_timeout_s=300)
    (slow / "assignment.yaml").write_text(yaml.safe_dump(spec))
    tf_names = {name for name, e in expected.items() if e.get("imports_tensorflow")}
    files = sorted(folder.iterdir())
    state.processes_before = {p.pid for p in psutil.process_iter()}
    os.environ["DLGRADE_TEST_SECRET"] = token  # the grader's own environment
    try:
        state.alone = batch.run(bundle, [folder / "victim.ipynb"], out).results[0]
        two = batch.GradeOptions(workers=2, force=True)
        batch.run(bundle, [f for f in files if f.stem not in tf_names], out, two)
        report = batch.run(Bundle(load_bundle(slow), slow), [f for f in files if f.stem in tf_names], out, two)
    finally:
        del os.environ["DLGRADE_TEST_SECRET"]
    state.results = {r.student: r for r in report.results}
    return state


def printed(out: Path, student: str) -> str:
    """What the student's notebook printed (its outputs, not its source)."""
    nb = nbformat.read(out / student / "executed.ipynb", 4)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def failed(result) -> list[str]:
    return sorted(f"{t.question}/{t.name}" for q in result.questions for t in q.tests if t.status != "passed")


def outcome(result) -> dict:
    if result.status == "graded":
        return {"status": "graded", "score": result.score, "fails": failed(result)}
    return {"status": result.status, "message": result.message}


def test_every_entry_gets_its_expected_outcome(corpus):
    assert sorted(corpus.results) == sorted(corpus.expected)
    through = {}
    for name, want in sorted(corpus.expected.items()):
        got = outcome(corpus.results[name])
        if want["status"] == "graded":
            ok = got == {"status": "graded", "score": want["score"], "fails": want["fails"]}
        else:
            ok = got["status"] == want["status"] and want["message"] in got.get("message", "")
        if not ok:
            through[name] = (want, got)
    print(f"hostile corpus: {len(corpus.expected)} submissions tried, {len(through)} got an outcome not expected")
    assert not through, through


def test_no_secret_reaches_any_attackers_output(corpus):
    leaked = []
    for name in corpus.results:
        if name == "victim":
            continue  # the secret is in its own notebook
        for f in (corpus.out / name).glob("*"):
            if corpus.token.encode() in f.read_bytes():
                leaked.append(str(f))
    assert not leaked
    hunt = printed(corpus.out, "read_hidden_data")
    assert "HUNT DONE, found 0" in hunt and "FOUND-AT" not in hunt  # the walk ran to its end, finding nothing
    environment = printed(corpus.out, "read_environment")
    assert "DLGRADE_TEST_SECRET" not in environment and "PATH" in environment  # an environment: its own


def test_nothing_escapes_to_the_host_or_outlives_grading(corpus, listener):
    _, seen = listener
    assert seen == [], "a submission reached a server on the host's loopback"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", corpus.listen_port), timeout=2).close()
    assert not [p for p in (Path("/tmp"), Path("/dev/shm"), corpus.bundle.root / "hidden", corpus.out, Path("/usr"),
                            Path("/etc"), Path.home()) for p in p.glob(f"*{corpus.mark}*")]
    assert not list(Path("/tmp").glob("leftover-*")) and not list(Path("/dev/shm").glob("leftover-*"))
    assert (corpus.bundle.root / "hidden" / "q1_scale.py").exists() and Path("/usr/bin/python3").exists()
    assert "LEFTOVERS []" in printed(corpus.out, "z_find_leftovers")
    # What the entries tried to leave running: a detached sleep, a forked kernel serving a port.
    # Every kernel and everything it starts runs as a sandbox uid, exec'd or forked from a zygote.
    new = [p for p in psutil.process_iter(["pid", "cmdline", "uids"]) if p.pid not in corpus.processes_before]
    left = [" ".join(p.info["cmdline"] or []) for p in new
            if p.info["uids"] and UID_BASE <= p.info["uids"].real < UID_BASE + UID_RANGE]
    left += [c for c in (" ".join(p.info["cmdline"] or []) for p in new)
             if c == "sleep 3600" or "ipykernel_launcher" in c and not Path(c.split(" -f ")[-1].split()[0]).exists()]
    assert not left, left
    # This process's zygotes serve it until it exits (their folders are swept only after a kill): sandboxes only.
    ours = [f for f in Path("/tmp").glob("dlg-*/owner")
            if not f.parent.name.startswith("dlg-zygote-") and f.read_text().split()[0] == str(os.getpid())]
    assert not ours, "sandbox folders outlived the batch"


def test_the_victim_grades_the_same_beside_the_attackers(corpus):
    alone, beside = corpus.alone, corpus.results["victim"]
    assert outcome(alone) == outcome(beside) == {"status": "graded", "score": 5.0, "fails": make_corpus.ALL_Q2}


def test_the_hunt_finds_the_secret_without_the_sandbox(corpus, tmp_path):
    """The control: the checks above can fail. Unsandboxed, the same hunt finds the planted secret."""
    with NotebookGrader(corpus.bundle, isolate=False) as grader:
        result = grader.grade(corpus.folder / "read_hidden_data.ipynb", tmp_path)
    assert result.isolation.startswith("off")
    assert f"FOUND-AT {corpus.bundle.root / 'hidden' / 'secret.txt'}" in printed(tmp_path, "read_hidden_data")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _dom(page: Path, profile: Path) -> str:
    """The page's DOM after loading it in headless Chromium (scripts, if any ran, changed it)."""
    argv = [_chromium(), "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
            "--virtual-time-budget=3000", "--dump-dom", page.as_uri()]
    if os.geteuid() == 0:
        argv.insert(1, "--no-sandbox")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(_chromium() is None, reason="no Chromium (.ci/run installs Debian's chromium)")
def test_no_script_in_a_report_runs_in_a_browser(corpus, tmp_path):
    """Script and HTML from output, cell source and failure messages stay text in the reports."""
    feedback = corpus.out / "html_everywhere" / "feedback.html"
    assert "data-pwned" in feedback.read_text()  # the attack is in the page, as text
    # The control: the same check sees a script that does run.
    live = tmp_path / "live.html"
    live.write_text("<html><body><script>document.body.setAttribute('data-pwned', 'control')</script></body></html>")
    assert 'data-pwned="control"' in _dom(live, tmp_path / "p0")
    for i, page in enumerate([feedback, corpus.out / "summary.html"]):
        assert 'data-pwned="' not in _dom(page, tmp_path / f"p{i + 1}"), page

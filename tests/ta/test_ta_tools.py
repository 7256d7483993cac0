"""A course at work on a real a1 class: Gradescope grades an upload; TAs spot copied work, set scores by hand, and
read the pages in a browser.

The class (``tests/ta/class_a1/``): amara, bruno and chen wrote their notebooks apart, each in a style of their
own; dmitri's is amara's, copied and disguised as a student would (every name changed, comments rewritten or
dropped, definitions reordered, loops turned into comprehensions). It is graded once through the CLI, against
the demo's reference figures (same machine, same build). A TA then runs ``dlgrade similarity``, sets scores by
hand (dmitri's q4 after reading the similarity page, a test of dmitri's q2, bruno's q5), and bruno's notebook
is graded again with ``--regrade``; meanwhile chen uploads the zip ``grader.export()`` made of the same
notebook to the course's Gradescope autograder (``dlgrade export gradescope``), whose ``run_autograder`` runs in
Gradescope's tree laid out in a temporary folder (each grading is one kernel: the two share the cores).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from support import ROOT, dlgrade, gradescope_metadata, gradescope_tree

from autograder import api, hardware
from autograder.grading.steps import calibration_key
from autograder.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.kernel, pytest.mark.bwrap, pytest.mark.training]

CLASS = ROOT / "tests" / "ta" / "class_a1"
DMITRI_Q4 = "Copied from another student's notebook (see the similarity page); no credit"
BRUNO_Q5 = "Trained on the held-out digits as well, against the instructions"
DMITRI_SAXPY = "Vectorised with a Python loop hidden in tf.py_function"


def _gradebook(out: Path) -> dict[str, dict[str, str]]:
    with (out / "gradebook.csv").open(encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def _canvas(out: Path) -> dict[str, str]:
    with (out / "canvas_import.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return {row[0]: row[-1] for row in rows[2:]}


@pytest.fixture(scope="module")
def worked(tmp_path_factory, demo_results, exported):
    """The class graded, compared, overridden by a TA, bruno graded again and chen's upload graded on Gradescope:
    (OUT, what each step printed, and Gradescope's results.json under "gradescope")."""
    out = tmp_path_factory.mktemp("ta") / "a1"
    said = {}
    exporting = _export_with_otter(CLASS / "chen.ipynb", tmp_path_factory.mktemp("chen"))
    graded = dlgrade("grade", "a1", str(CLASS), "-o", str(out), "--workers", "2",
                     "--calibration-from", str(demo_results[0]))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    said["before"] = _gradebook(out)
    # chen uploads to Gradescope meanwhile: one kernel there, beside the TA's commands and bruno's regrade.
    assert exporting.wait(timeout=300) == 0, exporting.communicate()
    export = next(Path(exporting.args[-1]).parent.glob("a1_*.zip"))
    gradescope = _upload_to_gradescope(exported[0], export, tmp_path_factory.mktemp("gradescope"), demo_results[0])
    similar = dlgrade("similarity", str(out))
    assert similar.returncode == 0, similar.stdout + similar.stderr
    said["similarity"] = similar.stdout
    for student, target, score, why in [("dmitri", "q4", "0", DMITRI_Q4), ("bruno", "q5", "1", BRUNO_Q5),
                                        ("dmitri", "q2/vectorized_is_faster_than_serial", "0", DMITRI_SAXPY)]:
        done = dlgrade("override", str(out), student, target, "--score", score, "--comment", why, "--by", "Grace (TA)")
        assert done.returncode == 0, done.stdout + done.stderr
    again = dlgrade("grade", "a1", str(CLASS), "-o", str(out), "--regrade", "bruno")
    assert again.returncode == 0, again.stdout + again.stderr
    said["regrade"] = again.stdout
    done = gradescope.communicate(timeout=900)
    assert gradescope.returncode == 0, done
    said["gradescope"] = json.loads((Path(gradescope.args[0]).parents[1] / "results" / "results.json").read_text())
    listed = dlgrade("overrides", str(out))
    assert listed.returncode == 0, listed.stderr
    said["overrides"] = listed.stdout
    return out, said


def _export_with_otter(notebook: Path, folder: Path) -> subprocess.Popen:
    """``grader.export()`` run on ``notebook`` as a student runs it (TensorFlow's noise on stderr too), started;
    it writes ``a1_<time>.zip`` into ``folder``."""
    shutil.copy(notebook, folder / "a1.ipynb")
    script = ("import sys\nimport tensorflow as tf\nsys.stderr.write('E0000 tensorflow noise on stderr\\n')\n"
              "import otter\notter.Notebook('a1.ipynb').export(pdf=False)\n")
    (folder / "export.py").write_text(script)
    return subprocess.Popen([sys.executable, str(folder / "export.py")], cwd=folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _upload_to_gradescope(zipped: Path, export: Path, folder: Path, figures_from: Path) -> subprocess.Popen:
    """chen's ``grader.export()`` zip uploaded under the name a browser gave it, in Gradescope's tree
    (``DLGRADE_GRADESCOPE_ROOT``) with the test's own Python; the reference figures setup.sh would have
    measured on this machine are the demo's. Returns run_autograder, started."""
    root = gradescope_tree(folder, zipped, gradescope_metadata())
    shutil.copy(export, root / "submission" / "a1 (1).zip")
    key = calibration_key(api.bundle_for(str(root / "source" / "dist" / "a1")))
    with Store(figures_from / "gradebook.sqlite") as demo:
        figures = demo.calibration(key)
    assert figures, f"the demo measured no reference figures under {key}"
    with Store(root / "source" / "calibration" / "gradebook.sqlite") as cache:
        cache.put_calibration(key, figures, 0.0)
    env = {**os.environ, "DLGRADE_GRADESCOPE_ROOT": str(root), "DLGRADE_PYTHON": sys.executable}
    return subprocess.Popen([str(root / "source" / "run_autograder")], env=env, cwd=folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_gradescope_grades_an_export_zip_under_any_name_as_the_batch_does_and_says_which_machine(worked):
    out, said = worked
    data = said["gradescope"]
    assert set(data) >= {"score", "output", "tests", "execution_time", "extra_data"}
    assert all(set(t) >= {"name", "score", "max_score", "visibility", "output"} for t in data["tests"])
    batch = json.loads((out / "chen" / "results.json").read_text())
    assert data["extra_data"]["status"] == "graded" and data["score"] == batch["score"] == 18
    assert [(t["name"], t["score"], t["visibility"]) for t in data["tests"]] == \
        [(t["name"], t["score"], t["visibility"]) for t in batch["tests"]]
    machine = hardware.machine()
    assert f"graded on: {machine['cpu']}, {machine['cores']} cores" in data["output"]
    assert ("no GPU" in data["output"]) == (not machine["gpus"])
    assert "sandbox: bubblewrap" in data["output"]
    assert "reference figures: from the cache setup.sh measured" in data["output"]
    extra = data["extra_data"]
    assert extra["gradescope"]["reference_figures"] == "cache"
    assert extra["gradescope"]["submission"] == "a1 (1).zip"
    assert extra["student"] == "S-1234"
    assert extra["identity"]["name"] == "Jane Doe" and extra["identity"]["email"] == "jane.doe@example.edu"
    assert extra["late"]["time_source"] == "roster"
    assert extra["late"]["submitted_at"] == "2026-10-01T14:22:32.365935-07:00"


def test_the_copied_pair_ranks_first_and_independent_work_stays_below_the_threshold(worked):
    out, said = worked
    pairs = json.loads((out / "similarity.json").read_text())["pairs"]
    assert {pairs[0]["a"], pairs[0]["b"]} == {"amara", "dmitri"} and pairs[0]["flagged"], pairs[0]
    assert [p for p in pairs if p["flagged"]] == pairs[:1], pairs  # no independent pair is flagged
    assert pairs[0]["similarity"] > 2 * pairs[1]["similarity"], pairs[:2]
    assert "1 pair(s) at or above 50%" in said["similarity"] and "amara  dmitri" in said["similarity"]
    page = (out / "similarity.html").read_text()
    assert page.count("<mark>") >= 5  # the matching code, marked on both sides
    assert 'id="pair-1"' in page and 'id="pair-2"' not in page  # only the flagged pair is shown side by side
    assert said["before"]["dmitri"]["total"] == "18"  # the page changed no score: the TA did, below


def test_an_override_outlives_a_regrade_and_shows_beside_the_automatic_score_everywhere(worked):
    out, said = worked
    assert "1 submission(s) to grade, 3 already graded and unchanged" in said["regrade"], said["regrade"]
    book = _gradebook(out)
    bruno, dmitri = book["bruno"], book["dmitri"]
    assert (bruno["q5"], bruno["raw"], bruno["automatic_raw"]) == ("1", "16", "18")
    assert (dmitri["q2"], dmitri["q4"], dmitri["raw"], dmitri["automatic_raw"]) == ("1", "0", "14", "18")
    assert BRUNO_Q5 in bruno["overrides"] and "q5: 3 -> 1 by Grace (TA)" in bruno["overrides"]
    assert book["amara"]["overrides"] == "" and book["amara"]["raw"] == book["amara"]["automatic_raw"]
    canvas = _canvas(out)
    late = {s: float(book[s]["late_penalty"]) for s in book}
    assert float(canvas["bruno"]) == pytest.approx(16 - late["bruno"])
    assert float(canvas["dmitri"]) == pytest.approx(14 - late["dmitri"])
    gradescope = json.loads((out / "bruno" / "results.json").read_text())
    q5 = next(t for t in gradescope["tests"] if t["name"] == "q5")
    assert q5["score"] == 1 and BRUNO_Q5 in q5["output"] and "automatic score 3" in q5["output"]
    assert gradescope["extra_data"]["automatic_score"] == 18
    feedback = (out / "bruno" / "feedback.html").read_text()
    assert BRUNO_Q5 in unescape(feedback) and "automatic: 3" in feedback and "Grace (TA)" in feedback
    summary = unescape((out / "summary.html").read_text())
    assert "Scores set by hand" in summary and DMITRI_Q4 in summary
    lines = said["overrides"].splitlines()
    assert len(lines) == 3, lines
    assert [line.split("\t")[:3] for line in lines] == [
        ["bruno", "q5", "3 -> 1"], ["dmitri", "q2/vectorized_is_faster_than_serial", "1 -> 0"],
        ["dmitri", "q4", "3 -> 0"]]
    assert "graded again since" in lines[0] and "graded again since" not in lines[1]


def test_a_cleared_override_gives_the_automatic_score_back(worked, tmp_path):
    out = tmp_path / "a1"
    shutil.copytree(worked[0], out)
    done = dlgrade("override", str(out), "DMITRI", "q4", "--clear")
    assert done.returncode == 0, done.stderr
    assert "automatic score counts again" in done.stdout
    dmitri = _gradebook(out)["dmitri"]
    assert (dmitri["q4"], dmitri["raw"]) == ("3", "17")
    assert DMITRI_Q4 not in unescape((out / "dmitri" / "feedback.html").read_text())
    again = dlgrade("override", str(out), "dmitri", "q4", "--clear")
    assert again.returncode == 2 and "has no override of q4" in again.stderr


def _browser():
    """Playwright driving Debian's Chromium (nothing downloaded); skip where either is missing."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        pytest.skip("no Chromium (.ci/run installs Debian's chromium)")
    return playwright.sync_playwright(), chromium


def test_a_ta_reads_the_pages_in_a_browser_offline(worked, tmp_path):
    """summary.html links every feedback page and the similarity page, its tables sort by a click, and the pages
    ask for nothing over a network. A screenshot of each page is left in the test's folder."""
    out, _ = worked
    manager, chromium = _browser()
    requests: list[str] = []
    with manager as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"] if os.geteuid() == 0 else [])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto((out / "summary.html").as_uri())
        page.screenshot(path=str(tmp_path / "summary.png"), full_page=True)

        students = page.locator("#students tbody tr td:first-child a")
        assert sorted(students.all_inner_texts()) == ["amara", "bruno", "chen", "dmitri"]
        for link in students.all():
            target = out / link.get_attribute("href")
            assert target.is_file(), target
        scores = page.locator("#students thead th", has_text="score")
        scores.click()
        assert page.locator("#students tbody tr td:first-child a").first.inner_text() == "dmitri"  # 14, lowest
        scores.click()
        assert page.locator("#students tbody tr td:first-child a").last.inner_text() == "dmitri"

        highest = page.locator("#speed thead th", has_text="highest")
        highest.click()  # ratios with a unit (10.35x) sort as numbers, not as text
        shown = [float(t.rstrip("x")) for t in page.locator("#speed tbody tr td:nth-child(5)").all_inner_texts()]
        assert len(shown) >= 3 and shown == sorted(shown), shown

        page.locator("#students a", has_text="bruno").click()
        assert "feedback for bruno" in page.title()
        assert page.locator(".override", has_text=BRUNO_Q5).is_visible()
        page.screenshot(path=str(tmp_path / "feedback-bruno.png"), full_page=True)

        page.goto((out / "summary.html").as_uri())
        page.locator("#similarity-link").click()
        assert "similar answer code" in page.title()
        first = page.locator("#pairs tbody tr").first
        assert first.get_attribute("class") == "flagged" and "amara" in first.inner_text() \
            and "dmitri" in first.inner_text()
        assert page.locator("#pair-1 + p + .side mark").count() >= 5
        page.screenshot(path=str(tmp_path / "similarity.png"), full_page=True)
        browser.close()
    assert all(url.startswith("file://") for url in requests), [u for u in requests if not u.startswith("file://")]
    assert not errors, errors  # the sorting script ran under the pages' Content-Security-Policy, nothing was refused
    assert (tmp_path / "summary.png").stat().st_size > 10_000

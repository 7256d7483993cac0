"""Similar answer code: what is flagged and what is not, on real a1 notebooks; the page stays inert text.

The graded class, the CLI and the page in a browser are in ``tests/ta/test_ta_tools.py``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape

import nbformat
import pytest
from support import ROOT

from autograder import spec as spec_mod
from autograder.errors import SpecError, UsageError
from autograder.reports.pages import SORT_SCRIPT_SOURCE, render_page
from autograder.similarity import answer_code, compare, similarity

CLASS = ROOT / "tests" / "ta" / "class_a1"
TEMPLATE = ROOT / "student_template" / "a1" / "a1.ipynb"


def codes(*names: str) -> dict[str, str]:
    return {name: answer_code(CLASS / f"{name}.ipynb") for name in names}


def test_a_disguised_copy_ranks_first_and_work_done_apart_stays_below_the_threshold():
    # The course's own solution joins the class: written apart from the four, it is the likeliest to look alike.
    class_ = {**codes("amara", "bruno", "chen", "dmitri"),
              "solution": answer_code(ROOT / "assignments" / "a1" / "examples" / "solution.ipynb")}
    report = compare(class_, answer_code(TEMPLATE))
    first, *rest = report.pairs
    assert {first.a, first.b} == {"amara", "dmitri"} and first.similarity >= report.threshold
    assert report.flagged == [first]
    assert first.similarity > 1.5 * max(p.similarity for p in rest), [(p.a, p.b, p.similarity) for p in rest[:3]]
    assert first.code_a.count("<mark>") >= 5 and rest[0].code_a == ""  # only flagged pairs are marked up


def test_renaming_alone_hides_nothing_and_the_untouched_template_matches_no_one():
    amara = codes("amara")["amara"]
    renamed = amara
    for name in sorted(set(re.findall(r"\bdef (_?\w+)", amara)) - {"matmul_numpy", "matmul_tf", "time_call"}):
        renamed = re.sub(rf"\b{name}\b", f"{name}_mine", renamed)
    template = answer_code(TEMPLATE)
    report = compare({"amara": amara, "copy": renamed, "blank1": template, "blank2": template}, template)
    assert [(p.a, p.b) for p in report.flagged] == [("amara", "copy")]
    assert report.pairs[0].similarity > 0.95
    blanks = next(p for p in report.pairs if {p.a, p.b} == {"blank1", "blank2"})
    assert blanks.similarity == 0  # handing in the template untouched is no copying


def test_code_a_student_wrote_stays_text_on_the_page():
    evil = ("x = 1\n# </pre><script>document.body.setAttribute('data-pwned', '1')</script>\n"
            "y = '<img src=x onerror=alert(1)>'\n")
    body = "\n".join(f"v{i} = [w * {i} for w in range({i})]" for i in range(30))
    report = compare({"a": evil + body, "b": evil + body}, "")
    html = render_page("similarity.html.j2", report=report, assignment="a1", min_matches=3)
    assert "<script>document" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document" in html
    # One script, ours, and the page's Content-Security-Policy allows it by its digest (and nothing else).
    assert html.count("<script>") == 1
    script = html.split("<script>")[1].split("</script>")[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'\">" in unescape(html) and SORT_SCRIPT_SOURCE == f"'sha256-{digest}'"


def test_ipython_lines_are_left_out_and_the_rest_of_the_cell_compared(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# notes"),
                nbformat.v4.new_code_cell("%matplotlib inline\n!pip install x\nimport numpy as np\nz = np.ones(3)")]
    nbformat.write(nb, str(tmp_path / "s.ipynb"))
    text = answer_code(tmp_path / "s.ipynb")
    assert text == "# cell 2\nimport numpy as np\nz = np.ones(3)\n"


def test_the_spec_sets_the_threshold_and_a_bad_one_is_named(tmp_path):
    folder = tmp_path / "a9"
    folder.mkdir()
    base = "assignment: a9\nquestions:\n  q1: {points: 1}\n"
    (folder / "assignment.yaml").write_text(base + "similarity: {threshold: 0.7, noise: 20}\n")
    assert spec_mod.load(folder).similarity == spec_mod.SimilarityPolicy(0.7, 20)
    for bad, key in [("{threshold: 1.5}", "similarity.threshold"), ("{noise: 2}", "similarity.noise"),
                     ("{treshold: 0.5}", "similarity.treshold")]:
        (folder / "assignment.yaml").write_text(base + f"similarity: {bad}\n")
        with pytest.raises(SpecError, match=re.escape(key)):
            spec_mod.load(folder)


def test_a_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no gradebook here"):
        similarity(tmp_path)
    with pytest.raises(UsageError, match="threshold 0"):
        compare({}, "", threshold=0)


def test_a_near_empty_notebook_is_not_flagged_for_a_line_that_runs_into_the_template():
    """A notebook that is the template but for one short answer shares that line, and the template's next
    lines, with a full solution: a match of 22 characters once made it 51% "similar"."""
    template = answer_code(TEMPLATE)
    full = codes("amara")["amara"]
    one_line = template.replace("    \"\"\"Matrix product with NumPy.\"\"\"\n    ...",
                                "    \"\"\"Matrix product with NumPy.\"\"\"\n    return np.matmul(a, b)", 1)
    assert one_line != template
    report = compare({"full": full, "one_line": one_line, "other": codes("chen")["chen"]}, template)
    assert report.flagged == [], [(p.a, p.b, p.similarity, p.overlap) for p in report.pairs]


def test_a_bad_similarity_key_in_the_spec_is_named_not_taken_for_a_missing_template(tmp_path):
    from autograder.results import GradingResult
    from autograder.store import Store

    course = tmp_path / "course"
    (course / "assignments" / "a9").mkdir(parents=True)
    (course / "assignments" / "a9" / "assignment.yaml").write_text(
        "assignment: a9\nquestions:\n  q1: {points: 1}\nsimilarity: {threshold: 7}\n")
    out = tmp_path / "out"
    with Store(out / "gradebook.sqlite") as store:
        store.put(GradingResult(assignment="a9", student="s1", source="s1.ipynb", status="graded"), "x")
    for template in (None, TEMPLATE):
        with pytest.raises(SpecError, match="similarity.threshold"):
            similarity(out, template=template, root=course)

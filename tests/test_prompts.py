"""Every threshold a question is graded on is stated in its prompt, written there from the spec by the build."""

import nbformat
import pytest
from support import ROOT

from autograder import prompts
from autograder import spec as spec_mod
from autograder.errors import BuildError

ASSIGNMENTS = ["a1", "a2", "a3"]


def _spec(tmp_path, thresholds):
    folder = tmp_path / "a9"
    folder.mkdir()
    lines = "".join(f"      {k}: {v}\n" for k, v in thresholds.items())
    spec = f"assignment: a9\nquestions:\n  q1:\n    points: 1\n    thresholds:\n{lines}"
    (folder / "assignment.yaml").write_text(spec)
    return spec_mod.load(folder)


def test_values_are_said_as_a_student_reads_them():
    assert [prompts.say(v) for v in (0.9, 1e-5, 200000, [0, 1, 2], [7], True, "median")] == \
        ["0.9", "1e-05", "200,000", "0, 1 and 2", "7", "yes", "median"]


def test_placeholders_become_the_specs_values(tmp_path):
    spec = _spec(tmp_path, {"min_accuracy": 0.9, "seeds": "[0, 1, 2]"})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "At least {{ q1.min_accuracy }} over seeds {{q1.seeds}}."), nbformat.v4.new_code_cell("x = '{{ q1.x }}'")])
    out = prompts.render(nb, spec, "m.ipynb")
    assert out.cells[0].source == "At least 0.9 over seeds 0, 1 and 2."
    assert out.cells[1].source == "x = '{{ q1.x }}'"  # code is the student's, never rewritten
    assert prompts.missing_thresholds(out, spec) == ["q1.min_accuracy", "q1.seeds"]  # stated now only as values


def test_an_unknown_placeholder_is_a_build_error_naming_the_cell(tmp_path):
    spec = _spec(tmp_path, {"min_accuracy": 0.9})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"),
                                         nbformat.v4.new_markdown_cell("{{ q1.min_acuracy }}")])
    with pytest.raises(BuildError, match=r"m.ipynb: cell 2: \{\{ q1.min_acuracy \}\} names no threshold"):
        prompts.render(nb, spec, "m.ipynb")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_threshold_of_the_spec_is_stated_in_its_prompt(assignment):
    spec = spec_mod.load(ROOT / "assignments" / assignment)
    master = nbformat.read(ROOT / "solutions" / assignment / spec.notebook, 4)
    assert prompts.missing_thresholds(master, spec) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_student_notebook_states_the_values_not_placeholders(assignment):
    spec = spec_mod.load(ROOT / "assignments" / assignment)
    student = nbformat.read(ROOT / "student_template" / assignment / spec.notebook, 4)
    text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert "{{" not in text
    for question in spec.questions.values():
        for value in question.thresholds.values():
            assert prompts.say(value) in text, (question.name, value)

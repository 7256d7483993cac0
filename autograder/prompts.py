"""The spec's thresholds written into the prompts students read, so that the two can never drift apart.

A master notebook's markdown says ``{{ q5.min_accuracy }}`` where the prompt
states a threshold; ``dlgrade build`` writes the spec's value there (``0.9``;
``200,000``; ``0, 1 and 2``) before Otter Assign makes the student notebook.
Every threshold a question is graded on must appear in its prompt this way
(``missing_thresholds`` says which do not), so a student can check their work
against exactly what the hidden tests require before submitting.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat

from autograder.errors import BuildError
from autograder.spec import Assignment

#: ``{{ q5.min_accuracy }}``: a question and one of its thresholds.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\.([A-Za-z_]\w*)\s*\}\}")


def say(value: Any) -> str:
    """A threshold as a prompt says it: 0.9, 1e-05, 200,000, "0, 1 and 2", "yes"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        parts = [say(v) if not isinstance(v, list) else str(v) for v in value]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return str(value)


def render(nb: nbformat.NotebookNode, spec: Assignment, where: str) -> nbformat.NotebookNode:
    """The notebook with every placeholder in its markdown replaced by the spec's value.

    Raises ``BuildError`` naming ``where``, the cell and the placeholder for a
    question or threshold the spec does not have.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or "{{" not in cell.source:
            continue

        def value(match: re.Match, index: int = index) -> str:
            question, key = match[1], match[2]
            if question not in spec.questions or key not in spec.questions[question].thresholds:
                raise BuildError(f"{where}: cell {index + 1}: {match[0]} names no threshold of {spec.file} "
                                 f"(questions.{question}.thresholds.{key})")
            return say(spec.questions[question].thresholds[key])

        cell.source = PLACEHOLDER.sub(value, cell.source)
    return nb


def missing_thresholds(nb: nbformat.NotebookNode, spec: Assignment) -> list[str]:
    """``q5.min_accuracy``-style names of the spec's thresholds that no prompt of the master states."""
    stated = {(m[1], m[2]) for cell in nb.cells if cell.cell_type == "markdown"
              for m in PLACEHOLDER.finditer(cell.source)}
    return [f"{q}.{key}" for q, question in spec.questions.items() for key in question.thresholds
            if (q, key) not in stated]

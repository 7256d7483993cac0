"""Habits of real notebooks the grader tolerates: Colab-only lines, package installs, the ways a kernel is ended.

Students write where they work. In Colab, ``%tensorflow_version 2.x`` is a
no-op and ``from google.colab import drive; drive.mount(...)`` mounts their
Drive; outside Colab both stop the cell with an error, and everything after
them in the cell is lost. ``!pip install`` fails without a network (the
grader has none) after seconds of retries. ``tolerate`` turns each such line
into ``pass`` before the cell runs, as Colab would have run it to no effect
here, and says so in a note. Code that already handles their absence (an
import of ``google.colab`` inside ``try``) is left as it is: it runs as it
would in Jupyter.

``definitions`` reads which top-level names a cell binds, so that a name a
hidden test cannot find is traced to the cell that should have made it.
"""

from __future__ import annotations

import ast
import dataclasses
import re

#: Line magics and shell lines that only make sense in Colab or with a network, by what the note says.
_SKIPPED_LINES = [
    (re.compile(r"^\s*%tensorflow_version\b.*$"), "is Colab-only (a no-op in Colab since TensorFlow 2)"),
    (re.compile(r"^\s*[!%]\s*(pip|pip3|conda|mamba|apt|apt-get)\s+install\b.*$"),
     "installs packages, which the grader does not do (it has no network; it has the course's packages)"),
]
_COLAB_CALLS = {("drive", "mount"), ("drive", "flush_and_unmount"), ("files", "download"), ("files", "upload")}


@dataclasses.dataclass
class Tolerated:
    """A cell's source as it is run, and a note for each line that was skipped."""

    source: str
    notes: list[str]


def tolerate(source: str) -> Tolerated:
    """``source`` with Colab-only lines and package installs turned into ``pass``, and notes saying which."""
    lines = source.split("\n")
    notes: dict[int, str] = {}
    for i, line in enumerate(lines):
        for pattern, why in _SKIPPED_LINES:
            if pattern.match(line):
                notes[i] = f"`{line.strip()[:80]}` {why}: skipped"
                lines[i] = _pass(line)
                break
    for i in _top_level_colab_lines("\n".join(lines)):
        notes[i] = f"`{lines[i].strip()[:80]}` is Colab-only (google.colab exists only there): skipped"
        lines[i] = _pass(lines[i])
    return Tolerated("\n".join(lines), [notes[i] for i in sorted(notes)])


def _pass(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}pass  # skipped by the grader: {line.strip()[:200]}"


def _top_level_colab_lines(source: str) -> list[int]:
    """Lines (from 0) of one-line statements outside any ``try`` that import google.colab or mount a Drive."""
    tree = _parse(source)
    if tree is None:
        return []
    found = []
    for node in tree.body:
        if node.lineno != node.end_lineno:
            continue
        if isinstance(node, ast.Import) and any(a.name.split(".")[:2] == ["google", "colab"] for a in node.names):
            found.append(node.lineno - 1)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[:2] == ["google", "colab"]:
            found.append(node.lineno - 1)
        elif isinstance(node, ast.ImportFrom) and node.module == "google" and any(a.name == "colab"
                                                                                 for a in node.names):
            found.append(node.lineno - 1)
        elif isinstance(node, ast.Expr) and _is_colab_call(node.value):
            found.append(node.lineno - 1)
    return found


def _is_colab_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
    return (name, node.func.attr) in _COLAB_CALLS


def _parse(source: str) -> ast.Module | None:
    """The cell as Python (IPython's magics and shell lines made into calls first); None where it does not parse."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        python = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or the cell beyond its transforms: nothing is tolerated
        python = source
    try:
        return ast.parse(python)
    except (SyntaxError, ValueError):
        return None


# -- what a cell defines ------------------------------------------------------------------


@dataclasses.dataclass
class Definitions:
    """The top-level names a cell binds, and those it deletes."""

    binds: set[str]
    deletes: set[str]
    imports: set[str]  # the names of ``binds`` that come from an import


def definitions(source: str) -> Definitions:
    """Which names a cell binds at its top level (defs, classes, assignments, imports, loops, with) and deletes."""
    binder = _Binder()
    tree = _parse(source)
    if tree is not None:
        binder.visit(tree)
    else:  # a cell that does not parse (a syntax error) still says what it meant to define
        binder.found.binds.update(m[1] or m[2] for m in _MEANT.finditer(source))
    return binder.found


#: What a cell that does not parse meant to define: ``def name``, ``class name``, ``name =`` at a line's start.
_MEANT = re.compile(r"^\s*(?:(?:async\s+)?def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=(?!=)", re.MULTILINE)


class _Binder(ast.NodeVisitor):
    """Collects the names a module binds and deletes, without entering function, class or comprehension scopes."""

    def __init__(self) -> None:
        self.found = Definitions(set(), set(), set())

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.found.binds.add(node.name)  # its body's names are its own

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def _own_scope(self, node: ast.AST) -> None:
        pass  # lambdas and comprehensions bind nothing in the notebook

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _own_scope

    def _imports(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            if name != "*":
                self.found.binds.add(name)
                self.found.imports.add(name)

    visit_Import = visit_ImportFrom = _imports

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.found.binds.add(node.id)
        elif isinstance(node.ctx, ast.Del):
            self.found.deletes.add(node.id)

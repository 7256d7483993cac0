"""Notebooks as each tool really saves them, made from any notebook: the inputs a grader meets in a class.

Layouts after what each tool writes (read in their code and in real files):

Each keeps the notebook's own metadata (Otter's public tests live there) and adds its own.

- Colab's "Download .ipynb": nbformat 4.0, no cell ids (Colab keeps its own in
  ``metadata.id``), ``colab`` and ``accelerator`` metadata, a kernelspec
  without ``language``, sources as lists of lines, two-space indent,
  ``nbformat`` first.
- VS Code: 4.2 (its serializer's default), no ids, ``orig_nbformat`` and the
  ``vscode.interpreter.hash`` of 2021-22 files, every key sorted, one space.
- Notebook 6 / JupyterLab 3: 4.4, no ids, sorted keys, one space, extension
  metadata such as ``varInspector``.
- JupyterLab 4 / Notebook 7: 4.5 with UUID cell ids.
- ``otter assign``'s student notebook as Otter's own fixtures are: 4.4, no ids.
- IPython 2: nbformat 3 (worksheets), by nbformat's own converter.
"""

from __future__ import annotations

import copy
import json
import uuid

import nbformat


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _plain(nb: nbformat.NotebookNode, minor: int) -> dict:
    """The notebook as a dict of nbformat 4.``minor``: no cell ids below 4.5, sources as lists of lines."""
    data = json.loads(json.dumps(nb))
    data["nbformat"], data["nbformat_minor"] = 4, minor
    for cell in data["cells"]:
        if minor < 5:
            cell.pop("id", None)
        cell["source"] = _lines(cell["source"]) if isinstance(cell["source"], str) else cell["source"]
        for out in cell.get("outputs", []):
            if isinstance(out.get("text"), str):
                out["text"] = _lines(out["text"])
    return data


def colab(nb: nbformat.NotebookNode) -> bytes:
    data = _plain(nb, 0)
    for i, cell in enumerate(data["cells"]):
        meta = {"id": f"Xy9zW{i:07d}"}
        if cell["cell_type"] == "code":
            meta.update(colab={"base_uri": "https://localhost:8080/"}, outputId=str(uuid.UUID(int=i)))
        cell["metadata"] = meta
        # Colab's own key order: cell_type, source, metadata, then the rest.
        data["cells"][i] = {k: cell[k] for k in ("cell_type", "source", "metadata", "execution_count", "outputs")
                            if k in cell}
    metadata = {**data["metadata"], "colab": {"provenance": [], "gpuType": "T4"},
                "kernelspec": {"name": "python3", "display_name": "Python 3"},
                "language_info": {"name": "python"}, "accelerator": "GPU"}
    ordered = {"nbformat": 4, "nbformat_minor": 0, "metadata": metadata, "cells": data["cells"]}
    return json.dumps(ordered, indent=2).encode()


def vscode(nb: nbformat.NotebookNode) -> bytes:
    data = _plain(nb, 2)
    data["metadata"] = {
        **data["metadata"],
        "kernelspec": {"display_name": "Python 3.10.4 64-bit", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.10.4"},
        "orig_nbformat": 4,
        "vscode": {"interpreter": {"hash": "3a1f" * 16}},
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def notebook6(nb: nbformat.NotebookNode) -> bytes:
    data = _plain(nb, 4)
    data["metadata"] = {**data["metadata"],
                        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                        "language_info": {"name": "python", "version": "3.8.10"},
                        "varInspector": {"window_display": False, "cols": {"lenName": 16}}}
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def jupyterlab4(nb: nbformat.NotebookNode) -> bytes:
    data = _plain(nb, 5)
    for i, cell in enumerate(data["cells"]):
        cell["id"] = str(uuid.UUID(int=i + 1))
    data["metadata"].setdefault("kernelspec", {"display_name": "Python 3 (ipykernel)", "language": "python",
                                               "name": "python3"})
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def otter_assign(nb: nbformat.NotebookNode) -> bytes:
    data = _plain(nb, 4)
    data["metadata"].setdefault("otter", {}).setdefault("assignment_name", "hw")
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def nbformat3(nb: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(nbformat.convert(copy.deepcopy(nb), 3), version=3).encode()


def with_bom(raw: bytes) -> bytes:
    return b"\xef\xbb\xbf" + raw


def duplicate_ids(nb: nbformat.NotebookNode) -> bytes:
    data = _plain(nb, 5)
    for cell in data["cells"]:
        cell["id"] = "same-id"
    return json.dumps(data, indent=1).encode()


def bare_metadata(nb: nbformat.NotebookNode) -> bytes:
    """No kernelspec, no language_info, widget state left behind: what a script-made notebook carries."""
    data = _plain(nb, 5)
    for key in ("kernelspec", "language_info"):
        data["metadata"].pop(key, None)
    data["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                                 "version_minor": 0}}
    return json.dumps(data).encode()


#: Every way of saving, by name.
SAVERS = {
    "colab": colab, "vscode": vscode, "notebook6": notebook6, "jupyterlab4": jupyterlab4,
    "otter_assign": otter_assign, "nbformat3": nbformat3, "bom": lambda nb: with_bom(colab(nb)),
    "duplicate_ids": duplicate_ids, "bare_metadata": bare_metadata,
}

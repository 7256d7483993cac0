"""Otter's own public checks (``grader.check``), run in the kernel after the notebook, as the student sees them.

Their result is shown in the feedback and by ``dlgrade check``, never
counted: the submission runs them, so it could fake them. A question the
bundle has no public tests for is not checked at all: it has none, which is
not a failure.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from autograder.execute import NotebookRun
from autograder.results import NO_PUBLIC_TESTS

_MARK = "@@dlgrade-public@@"

#: Runs in the kernel after the notebook, and leaves no name behind in it.
_CODE = """
def __dlgrade_public():
    import json, os
    os.chdir(%(folder)r)  # Otter finds its notebook and tests from the notebook's folder, whatever it did
    out = {}
    for q in %(questions)r:
        try:
            r = grader.check(q)
            out[q] = {"passed": bool(getattr(r, "all_passed", getattr(r, "passed_all", False))),
                      "text": str(r)[:3000]}
        except Exception as e:
            out[q] = {"passed": False, "text": "%%s: %%s" %% (type(e).__name__, e)}
    print("%(mark)s" + json.dumps(out))
try:
    __dlgrade_public()
finally:
    del __dlgrade_public
"""


def public_checks(run: NotebookRun, questions: list[str], tested: Collection[str] | None = None) -> dict[str, dict]:
    """``{question: {"passed": bool | None, "text": str}}`` from Otter's public tests in the kernel, in order.

    ``tested`` are the questions that have public tests (``Bundle.public_tests``; None: every one). The others
    are not checked: ``{"passed": None, "text": NO_PUBLIC_TESTS}``, never a failure. A kernel the notebook
    ended (a last ``exit()``) is started again first, its good cells replayed, as the judge's would be.
    Empty when the checks there are cannot run (a kernel that cannot be revived, no ``grader``, a patched
    ``json``).
    """
    checked = [q for q in questions if tested is None or q in tested]
    found = _checked(run, checked) if checked else {}
    if checked and not found:
        return {}
    results = {}
    for q in questions:
        if q not in checked:
            results[q] = {"passed": None, "text": NO_PUBLIC_TESTS}
        elif q in found:
            results[q] = found[q]
    return results


def _checked(run: NotebookRun, questions: list[str]) -> dict[str, dict]:
    """What ``grader.check`` says of each of ``questions`` in the kernel; empty when it cannot be run."""
    if not run.revive():
        return {}
    code = _CODE % {"questions": questions, "mark": _MARK, "folder": str(run.sandbox.workdir)}
    res = run.sandbox.run(code, timeout=run.sandbox.limits.cell_timeout)
    text = "".join(o.get("text", "") for o in res.outputs if o.get("output_type") == "stream")
    marker = text.rfind(_MARK)
    if not res.ok or marker < 0:
        return {}
    try:
        data = json.loads(text[marker + len(_MARK):].splitlines()[0])
    except (ValueError, IndexError):
        return {}
    if not isinstance(data, dict):  # the submission's own json, perhaps patched
        return {}
    return {q: {"passed": v.get("passed") is True, "text": str(v.get("text", ""))[:3000]}
            for q, v in data.items() if q in questions and isinstance(v, dict)}

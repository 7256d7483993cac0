"""Otter's own public checks (``grader.check``), run in the kernel after the notebook, as the student sees them.

Their result is shown in the feedback and by ``dlgrade check``, never
counted: the submission runs them, so it could fake them.
"""

from __future__ import annotations

import json

from autograder.execute import NotebookRun

_MARK = "@@dlgrade-public@@"

#: Runs in the kernel after the notebook.
_CODE = """
import json as __j
__out = {}
for __q in %(questions)r:
    try:
        __r = grader.check(__q)
        __out[__q] = {"passed": bool(getattr(__r, "all_passed", getattr(__r, "passed_all", False))),
                      "text": str(__r)[:3000]}
    except Exception as __e:
        __out[__q] = {"passed": False, "text": "%%s: %%s" %% (type(__e).__name__, __e)}
print("%(mark)s" + __j.dumps(__out))
"""


def public_checks(run: NotebookRun, questions: list[str]) -> dict[str, dict]:
    """``{question: {"passed": bool, "text": str}}`` from Otter's public tests in the kernel.

    Empty when they cannot run (a dead kernel, no ``grader``, a patched ``json``).
    """
    if not run.sandbox.alive:
        return {}
    res = run.sandbox.run(_CODE % {"questions": questions, "mark": _MARK}, timeout=run.sandbox.limits.cell_timeout)
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

"""The agent: code the judge runs inside the submission's kernel, another process than the grader's.

``kernel_agent.py`` is never imported by the grader: its text is executed in
the kernel after the notebook, where it answers the judge's requests (see
``judge.wire``). Nothing in it is secret, and nothing it returns is trusted.
"""

from pathlib import Path

#: The agent's source, as the judge sends it to a kernel.
AGENT_SOURCE = (Path(__file__).parent / "kernel_agent.py").read_text()

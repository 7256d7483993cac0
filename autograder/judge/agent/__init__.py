"""The agent: code the judge runs inside the submission's kernel, another process than the grader's.

``kernel_agent.py`` is never imported by the grader: its text is executed in
the kernel after the notebook, where it answers the judge's requests (see
``judge.wire``). Nothing in it is secret, and nothing it returns is trusted.
"""

from pathlib import Path

#: The agent's source, as the judge sends it to a kernel.
AGENT_SOURCE = (Path(__file__).parent / "kernel_agent.py").read_text()
#: The module the agent becomes in the kernel.
MODULE = "dlgrade_agent"

#: Run in the kernel: the agent as a module of its own, answering for the notebook's namespace; no name is left
#: in that namespace.
INSTALL = f"""
def __dlgrade_install(source):
    import sys, types
    module = types.ModuleType({MODULE!r})
    module.__user_ns__ = globals()
    exec(compile(source, "<dlgrade agent>", "exec"), module.__dict__)
    sys.modules[{MODULE!r}] = module
try:
    __dlgrade_install({AGENT_SOURCE!r})
finally:
    del __dlgrade_install
"""


def serve_code(request: str, out_folder: str, prefix: str) -> str:
    """The code that asks the installed agent to answer the request in ``request`` (binding no name)."""
    return f"__import__('sys').modules[{MODULE!r}].AGENT.serve({request!r}, {out_folder!r}, {prefix!r})"

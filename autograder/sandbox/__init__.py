"""The sandbox: a Jupyter kernel (or any command) in a bubblewrap jail, within limits, and everything it holds.

Rooms, each one job:

- ``kernel``: ``Sandbox``, one kernel's life cycle: start, run code, run a command, stop.
- ``jail``: bubblewrap's arguments (namespaces, read-only system, binds, rlimits, the uid) and whether it works here.
- ``host``: what a sandbox holds on the host: its uid, capped disk, processes and folder; the sweep after a kill.
- ``environment``: a kernel's environment variables and the code run in it before the submission.
- ``output``: what comes back: a run's nbformat outputs, a command's output, capped and type-checked.
- ``files``: reading what the submission wrote, never following a link.
- ``zygote``: the grader's side of the zygotes that fork kernels with TensorFlow already imported.
- ``zygote_server``: the zygote itself, the program of another process.

This ``__init__`` imports nothing: the zygote runs as ``python -m
autograder.sandbox.zygote_server`` and must not load the grader's machinery.
"""

"""``Gate``: calls in the kernel that last as long as the grader holds them, counted by the grader.

A timer under test (a1's ``time_call``) is handed a gated function
(``Handle.gated``): each of its calls writes a byte to the FIFO ``ask`` in a
folder of the grader's (read-only inside the sandbox) and blocks reading
``go``; a thread of the grader's answers each ask after a wait it drew itself.
Nothing in the kernel can read a wait before it has happened, and the number
of asks is the grader's own count: a timer that reports instead of measuring,
skips calls or times the wrong ones shows, however well it knows the probe.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any


class Gate:
    """The grader's side of gated calls: ``waits[k]`` seconds for the k-th ask (the last wait for any beyond).

    ``held`` lists, per answered call, the seconds from its ask reaching the
    grader to its answer being written: each call in the kernel lasts at
    least that long. ``calls`` counts the asks; ``overlapped`` counts the calls
    that asked while an earlier one was still held (calls made at once, from
    threads, say). Raises ValueError for no waits or a negative one; OSError
    where the FIFOs cannot be made.
    """

    def __init__(self, folder: Path, waits: Sequence[float]):
        if not waits or min(waits) < 0:
            raise ValueError(f"a gate needs waits of 0 s or more; got {list(waits)}")
        self.folder, self.waits = Path(folder), [float(w) for w in waits]
        self.asked: list[float] = []
        self.held: list[float] = []
        self.overlapped = 0
        self.fn: Any = None  # the kernel's gated function (a Remote), set by Handle.gated
        self._stop = threading.Event()
        self._fds: tuple[int, int] | None = None
        self._thread = threading.Thread(target=self._serve, name="dlgrade-gate", daemon=True)

    @property
    def calls(self) -> int:
        """How many calls the kernel has made, by the grader's count of asks."""
        return len(self.asked)

    def __enter__(self) -> Gate:
        for name in ("ask", "go"):
            os.mkfifo(self.folder / name)
            os.chmod(self.folder / name, 0o666)  # the kernel's user writes ask and reads go
        # Read-write on both ends: neither open blocks, ``ask`` never reads as closed, and the kernel's
        # opens (write ``ask``, read ``go``) find the other end already there.
        self._fds = (os.open(self.folder / "ask", os.O_RDWR), os.open(self.folder / "go", os.O_RDWR))
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._fds is not None
        ask, go = self._fds
        while not self._stop.is_set():
            ready, _, _ = select.select([ask], [], [], 0.05)
            if not ready:
                continue
            os.read(ask, 1)
            asked = time.perf_counter()
            self.asked.append(asked)
            wait = self.waits[min(len(self.asked), len(self.waits)) - 1]
            if self._stop.wait(max(0.0, wait - (time.perf_counter() - asked))):
                return
            if select.select([ask], [], [], 0)[0]:  # the next call asked before this one was answered
                self.overlapped += 1
            os.write(go, b"g")
            self.held.append(time.perf_counter() - asked)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._fds is not None:
            for fd in self._fds:  # the last writer of ``go`` gone: a call still waiting in the kernel sees its end
                os.close(fd)
            self._fds = None

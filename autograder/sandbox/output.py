"""What comes back from a sandbox: a run of code as nbformat outputs, a command's output, a line from a pipe.

Everything here is read from a process the submission controls, so every
field is checked for its type and every stream is capped.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import select
import threading
import time
from typing import Any

import zmq

from autograder.results import CellStatus


@dataclasses.dataclass
class CodeRun:
    """What running one piece of code in the kernel produced."""

    status: CellStatus  # ok, error, timeout, died or exited
    outputs: list = dataclasses.field(default_factory=list)
    error: dict | None = None  # {"ename", "evalue", "traceback"}
    seconds: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.status == CellStatus.OK

    def error_line(self) -> str:
        if self.status == CellStatus.TIMEOUT:
            return f"timed out after {self.seconds:.0f} s"
        if self.status == CellStatus.DIED:
            return "the kernel died (the code exited the process or was killed, e.g. out of memory)"
        if self.status == CellStatus.EXITED:
            return "the code ended the kernel (exit() or quit())"
        if self.error:
            return f"{self.error['ename']}: {self.error['evalue']}"[:500]
        return ""


@dataclasses.dataclass
class CommandRun:
    """What running one command in the sandbox produced (``Sandbox.run_command``)."""

    returncode: int | None  # negative: killed by that signal (as after a timeout); None: not reaped
    output: str  # the last ``limits.output_chars`` characters of stdout and stderr together
    seconds: float
    timed_out: bool = False
    truncated: bool = False  # earlier output was dropped to keep ``output`` within the limit


class Tail:
    """The last ``chars`` characters of a byte stream, read to its end by a thread of its own."""

    def __init__(self, stream: Any, chars: int):
        self.chars = chars
        self.data = bytearray()
        self.truncated = False
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: Any) -> None:
        keep = 4 * self.chars + 4  # UTF-8 needs at most 4 bytes a character
        with stream:
            while chunk := stream.read1(65536):
                self.data += chunk
                if len(self.data) > keep:
                    del self.data[:-keep]
                    self.truncated = True

    def text(self, wait: float) -> str:
        """The tail as text, once the stream ended or ``wait`` seconds passed (a process left
        outside bubblewrap may hold it open; the thread then ends when that process does)."""
        self._thread.join(wait)
        text = bytes(self.data).decode("utf-8", "replace")
        if len(text) > self.chars:
            self.truncated = True
            text = text[-self.chars:]
        return text


def read_line(stream: Any, timeout: float) -> str | None:
    """One line from a pipe, or None if none came within ``timeout`` seconds or the pipe closed first."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            return None
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            return None
        data += chunk
    return data.decode("utf-8", "replace").strip()


class OutputCollector:
    """Turns iopub messages into nbformat outputs, keeping at most ``limit`` characters of text.

    The kernel holds the connection's signing key, so a submission can send
    any message it likes: every field is checked for its type here.
    """

    IMAGE_BUDGET = 8_000_000  # characters of base64 images per run, on top of the text limit
    MAX_OUTPUTS = 1000

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.image_used = 0
        self.outputs: list[dict] = []
        self.error: dict | None = None
        self.truncated = False

    def _take(self, text: str) -> str:
        room = self.limit - self.used
        if len(text) > room:
            self.truncated = True
            text = text[: max(room, 0)]
        self.used += len(text)
        return text

    def add(self, msg: dict) -> None:
        """One iopub message of the run: a stream, a display or result, or an error; anything else is ignored."""
        kind = msg.get("msg_type") if isinstance(msg, dict) else None
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, dict) or len(self.outputs) >= self.MAX_OUTPUTS:
            self.truncated = self.truncated or isinstance(content, dict)
            return
        if kind == "stream":
            self._stream(content)
        elif kind in ("display_data", "execute_result"):
            self._display(kind, content)
        elif kind == "error":
            traceback = content.get("traceback")
            self.error = {
                "ename": str(content.get("ename", ""))[:200],
                "evalue": str(content.get("evalue", ""))[:2000],
                "traceback": [str(t)[:4000] for t in (traceback if isinstance(traceback, list) else [])[:50]],
            }
            self.outputs.append({"output_type": "error", **self.error})

    def _stream(self, content: dict) -> None:
        name = content.get("name") if content.get("name") in ("stdout", "stderr") else "stdout"
        text = content.get("text")
        text = self._take(text if isinstance(text, str) else "")
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def _display(self, kind: str, content: dict) -> None:
        data = {}
        raw = content.get("data")
        for mime, value in (raw.items() if isinstance(raw, dict) else []):
            if not isinstance(mime, str) or not isinstance(value, str):
                continue  # only text and base64 cross; anything else is dropped, not repr'd
            if not self._room_for(mime, value):
                self.truncated = True
                continue
            data[mime[:100]] = value
        out: dict[str, Any] = {"output_type": kind, "data": data, "metadata": {}}
        if kind == "execute_result":
            count = content.get("execution_count")
            out["execution_count"] = count if isinstance(count, int) else None
        self.outputs.append(out)

    def _room_for(self, mime: str, value: str) -> bool:
        """Whether ``value`` fits its budget (images have one of their own); if so, it is counted."""
        if mime.startswith("image/"):
            if self.image_used + len(value) > self.IMAGE_BUDGET:
                return False
            self.image_used += len(value)
        elif len(value) + self.used > self.limit:
            return False
        else:
            self.used += len(value)
        return True

    def reply(self, content: dict) -> CellStatus:
        """The run's status from its ``execute_reply`` as well as its outputs.

        IPython aborts a cell with only a line on stderr for some errors (an
        unknown magic's ``UsageError``): the reply's ``status`` still says
        ``error``, and its ``ename`` and ``evalue`` what. ``exit()`` and
        ``quit()`` end a cell normally and then the kernel: the reply's
        payload asks to exit.
        """
        payload = content.get("payload")
        if any(isinstance(p, dict) and p.get("source") == "ask_exit" and not p.get("keepkernel")
               for p in (payload if isinstance(payload, list) else [])):
            return CellStatus.EXITED
        status = content.get("status")
        if status in ("error", "aborted") and self.error is None:
            self.error = {"ename": str(content.get("ename", "Aborted" if status == "aborted" else "Error"))[:200],
                          "evalue": str(content.get("evalue", "the kernel aborted the cell"))[:2000],
                          "traceback": []}
        return CellStatus.ERROR if self.error else CellStatus.OK

    def result(self, status: CellStatus, seconds: float) -> CodeRun:
        if self.truncated:
            self.outputs.append({"output_type": "stream", "name": "stderr",
                                 "text": f"\n[dlgrade: output cut at {self.limit} characters]\n"})
        return CodeRun(status=status, outputs=self.outputs, error=self.error, seconds=seconds,
                       truncated=self.truncated)


#: The largest message the grader accepts from a kernel: an output over it is dropped by ZeroMQ before the
#: grader allocates it (a kernel's 1 GiB message would otherwise cost the grader twice that).
MAX_MESSAGE_BYTES = 64 * 2**20


@functools.lru_cache(maxsize=1)
def client_context() -> zmq.Context:
    """The ZeroMQ context of every kernel client of this process, its sockets capped at ``MAX_MESSAGE_BYTES``."""
    context = zmq.Context()
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    return context

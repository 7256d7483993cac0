"""``Handle``: what a hidden test may ask of a submission's kernel, through the agent; every answer is data.

The handle reaches the kernel only through files (see ``wire``): the grader
writes a request into the sandbox's inbox, runs the agent's ``serve`` in
the kernel (the agent, ``judge/agent/kernel_agent.py``, executed there after
the notebook) and reads the answer back without following links. Calls have
a time limit each, and all of a submission's calls together another.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from autograder.errors import CallTimeout, ErrorKind, GraderFault, NotDefined, SubmissionError
from autograder.execute import NotebookRun
from autograder.judge.agent import INSTALL, MODULE, serve_code
from autograder.judge.gate import Gate
from autograder.judge.wire import (
    MAX_ARRAY_BYTES,
    MAX_RESPONSE_BYTES,
    OUT_DIR,
    Probe,
    Remote,
    decode,
    encode,
    unreadable,
)
from autograder.results import CellStatus
from autograder.sandbox.files import list_files, open_dir, read_file, read_into
from autograder.sandbox.kernel import Sandbox

#: Python's message for a missing name: the name is what the student's code lacked, not always what was called.
_MISSING_NAME = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


@dataclasses.dataclass
class Timing:
    """Calls timed on the grader's clock (``Handle.timed``), each from its inputs written to its answer read."""

    seconds: list[float]  # of each timed call
    value: Any = None  # what the last call returned

    @property
    def per_call(self) -> float:
        """The median seconds of a call."""
        return statistics.median(self.seconds)


class AnswerReader:
    """Reads one answer's files from the kernel's out folder, within one byte budget, then removes them."""

    def __init__(self, workdir: Path, prefix: str):
        self.prefix = prefix
        self.budget = MAX_ARRAY_BYTES
        self.names: list[str] = []
        self.fd: int | None
        try:
            self.fd = open_dir(workdir, OUT_DIR)
        except SubmissionError:
            self.fd = None

    def read(self, name: str, max_bytes: int) -> bytearray:
        """The bytes of the answer's file ``prefix + name``, each file once, within what is left of the budget."""
        if self.fd is None:
            raise SubmissionError("the answer was not written", ErrorKind.MISSING)
        full = self.prefix + name
        if full in self.names:
            raise unreadable("the same file twice")
        self.names.append(full)
        data = read_into(self.fd, full, min(max_bytes, self.budget), name)
        self.budget -= len(data)
        return data

    def response(self) -> dict:
        """The answer's ``response.json``, checked to be a JSON object."""
        try:
            response = json.loads(self.read("response.json", MAX_RESPONSE_BYTES))
        except (ValueError, UnicodeDecodeError):
            raise unreadable() from None
        if not isinstance(response, dict):
            raise unreadable()
        return response

    def close(self) -> None:
        """Remove the answer's files (links themselves, never their targets) and let go of the folder."""
        if self.fd is None:
            return
        try:
            for name in os.listdir(self.fd):
                if name.startswith(self.prefix):
                    try:
                        os.unlink(name, dir_fd=self.fd)  # removes a link itself, never its target
                    except OSError:
                        pass
        finally:
            os.close(self.fd)
            self.fd = None


Target = str | Remote | dict


class Handle:
    """What a hidden test may ask of a submission. Every answer is untrusted data.

    ``call_timeout`` (seconds) limits each call; ``budget`` (seconds) all of
    them together. Calls raise ``SubmissionError`` (its ``kind`` says why,
    e.g. ``NotDefined``, ``CallTimeout``) for the submission's faults and
    ``GraderFault`` for the grader's own.
    """

    def __init__(self, run: NotebookRun, call_timeout: float, budget: float | None = None):
        self.run = run
        self.call_timeout = call_timeout
        # All the judge's calls together get at most ``budget`` seconds, so a
        # submission whose every function hangs cannot hold the grader for hours.
        self.deadline = time.monotonic() + budget if budget else None
        self._count = 0
        self._gates = 0
        self.memo: dict[str, tuple[str, Any]] = {}  # results that several tests of one submission share
        #: The notebook's names the current test called (the runner clears it before each test).
        self.called: set[str] = set()
        self._peers: list[Handle] = []
        self._wire: tuple[Handle, Any] | None = None  # a clean peer and its echo probe (wire_cost)
        self._inject()

    @property
    def workdir(self) -> Path:
        return self.run.sandbox.workdir

    def _inject(self) -> None:
        if not self.run.sandbox.alive and not self.run.revive(self.deadline):
            raise SubmissionError("the kernel died and could not be restarted", ErrorKind.DIED)
        result = self.run.sandbox.run(INSTALL, timeout=60)
        if not result.ok:
            raise SubmissionError(f"the grader could not talk to the kernel: {result.error_line()}", ErrorKind.KERNEL)

    @staticmethod
    def _target(target: Target) -> dict:
        if isinstance(target, str):
            return {"name": target}
        if isinstance(target, Remote):
            return {"ref": target.id}
        return target

    def _timeout(self, timeout: float | None) -> float:
        timeout = self.call_timeout if timeout is None else timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SubmissionError("not run: the time limit for grading this submission was reached",
                                      ErrorKind.BUDGET)
            timeout = min(timeout, left)
        return timeout

    def _send(self, req: dict, arrays_in: dict[str, np.ndarray]) -> Path:
        """The request's folder in the inbox, written where only the grader can write (read-only inside)."""
        self._count += 1
        request = self.run.sandbox.inbox / str(self._count)
        try:
            request.mkdir()
            for name, arr in arrays_in.items():
                np.save(request / name, arr, allow_pickle=False)
            (request / "request.json").write_text(json.dumps(req))
        except OSError as e:  # our disk, not the submission's doing: no test may fail for it
            shutil.rmtree(request, ignore_errors=True)
            raise GraderFault(f"the grader could not write its request to the kernel ({e})") from None
        return request

    def _request(self, req: dict, arrays_in: dict[str, np.ndarray], timeout: float | None) -> tuple[dict, float]:
        """The agent's answer to ``req`` (its value decoded) and the seconds the grader saw it take."""
        sandbox = self.run.sandbox
        timeout = self._timeout(timeout)
        if not sandbox.alive:
            if not self.run.revive(self.deadline):
                raise SubmissionError("the kernel died and could not be restarted", ErrorKind.DIED)
            self._inject()
        # The grader's clock runs from before the kernel can see the inputs (the request folder is readable
        # inside once written) to the moment its answer has been read back: no signal of the kernel's counts.
        start = time.perf_counter()
        request = self._send(req, arrays_in)
        prefix = f"{self._count}-"
        result = sandbox.run(serve_code(str(request), str(self.workdir / OUT_DIR), prefix), timeout=timeout)
        shutil.rmtree(request, ignore_errors=True)
        reader = AnswerReader(self.workdir, prefix)
        try:
            if result.status == CellStatus.TIMEOUT:
                raise CallTimeout(f"did not finish within {timeout:.0f} s")
            if result.status == CellStatus.DIED:
                raise SubmissionError("the kernel died during the call (os._exit, a crash, or out of memory)",
                                      ErrorKind.DIED)
            if result.status == CellStatus.EXITED:
                raise SubmissionError("the call ended the kernel (exit() or quit())", ErrorKind.DIED)
            if not result.ok:
                if result.error and result.error["ename"] == "KeyError" and MODULE in result.error["evalue"]:
                    self._inject()  # the submission deleted the agent: put it back and ask again
                    return self._request(req, arrays_in, timeout)
                raise SubmissionError(f"the call failed: {result.error_line()}", ErrorKind.RAISED,
                                      result.error["ename"] if result.error else "")
            response = reader.response()
            if not response.get("ok"):
                err = response["error"] if isinstance(response.get("error"), dict) else {}
                raised = str(err.get("type", "Error"))[:100]
                raise SubmissionError(f"{raised}: {str(err.get('message', ''))[:500]}", ErrorKind.RAISED, raised)
            response["value"] = decode(response.get("value"), reader)
            return response, time.perf_counter() - start
        except (ValueError, TypeError, KeyError) as e:  # malformed encodings from the kernel
            raise unreadable(f"something unreadable ({type(e).__name__})") from None
        finally:
            reader.close()

    @staticmethod
    def _then(then: tuple, arrays: dict[str, np.ndarray]) -> dict:
        method, then_args, *rest = then
        then_kwargs = rest[0] if rest else {}
        return {"attr": method, "args": [encode(a, arrays) for a in then_args],
                "kwargs": {k: encode(v, arrays) for k, v in then_kwargs.items()}}

    def _call_request(self, op: str, target: Target, args: tuple, kwargs: dict, timeout: float | None = None,
                      then: tuple | None = None) -> tuple[dict, float]:
        arrays: dict[str, np.ndarray] = {}
        req: dict[str, Any] = {"op": op, "target": self._target(target),
                               "args": [encode(a, arrays) for a in args],
                               "kwargs": {k: encode(v, arrays) for k, v in kwargs.items()}}
        if then is not None:
            req["then"] = self._then(then, arrays)
        return self._asking(req, arrays, timeout, target)

    def _asking(self, req: dict, arrays: dict[str, np.ndarray], timeout: float | None,
                target: Target) -> tuple[dict, float]:
        """``_request``, a NameError from the kernel turned into ``NotDefined`` traced to its cell."""
        if isinstance(target, str):
            self.called.add(target)
        try:
            return self._request(req, arrays, timeout)
        except NotDefined:
            raise
        except SubmissionError as e:
            missing = _MISSING_NAME.search(str(e)) if e.raised == "NameError" else None
            if missing is not None:
                raise self._not_defined(missing[1], target if isinstance(target, str) else None) from None
            raise

    def _calls_request(self, target: Target, inputs: list[tuple], kwargs: dict, timeout: float | None,
                       then: tuple | None) -> tuple[dict, float]:
        """``target`` called once per tuple of ``inputs`` in one request (the agent's ``calls``)."""
        arrays: dict[str, np.ndarray] = {}
        encoded = {k: encode(v, arrays) for k, v in kwargs.items()}
        req: dict[str, Any] = {"op": "calls", "target": self._target(target),
                               "each": [{"args": [encode(a, arrays) for a in args], "kwargs": encoded}
                                        for args in inputs]}
        if then is not None:
            req["then"] = self._then(then, arrays)
        return self._asking(req, arrays, timeout, target)

    def _not_defined(self, name: str, used_by: str | None = None, depth: int = 0) -> NotDefined:
        """Why ``name`` is missing when the judge needs it, traced to the cell that should have defined it."""
        lead = f"`{used_by}` needs `{name}`, which" if used_by and used_by != name else f"`{name}`"
        definers = self.run.definers(name)
        if not definers:
            gone = " (was the cell that defined it deleted?)" if used_by and used_by != name else ""
            return NotDefined(f"{lead} is not defined in your notebook{gone}")
        cell = definers[-1]
        if cell.status == CellStatus.EXITED:
            return NotDefined(f"{lead} is not defined: {cell.label}, which defines it, ends the kernel (exit()), "
                              "so what it defines is gone; remove the exit() from it")
        if cell.status != CellStatus.OK:
            imported = name in self.run.definitions_of(cell).imports
            what = "which imports it, failed" if imported else "which defines it, did not run to the end"
            cause = _MISSING_NAME.search(cell.message)
            if cause is not None and cause[1] != name and depth < 3:  # it failed for want of another name
                why = str(self._not_defined(cause[1], depth=depth + 1))
                return NotDefined(f"{lead} is not defined: {cell.label}, {what} ({cell.message}), because {why}")
            return NotDefined(f"{lead} is not defined: {cell.label}, {what} ({cell.message})")
        deleted = self.run.deleters(name, after=cell.index)
        if deleted:
            return NotDefined(f"{lead} is not defined: {cell.label} defines it, but {deleted[-1].label} deletes it")
        return NotDefined(f"{lead} is not defined when the grader calls it, although {cell.label} defines it "
                          "(inside a branch that did not run, or after a kernel restart)")

    # -- what tests use --------------------------------------------------------

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per submission, e.g. a training that several tests judge; its error, too."""
        if key not in self.memo:
            try:
                self.memo[key] = ("ok", compute())
            except Exception as e:
                self.memo[key] = ("error", e)
        kind, value = self.memo[key]
        if kind == "error":
            raise value
        return value

    def call(self, target: Target, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call a function (by name), a Remote, or ``remote.attr("method")`` with data arguments; its result."""
        return self._call_request("call", target, args, kwargs, timeout=timeout)[0]["value"]

    def clocked(self, target: Target, *args: Any, timeout: float | None = None, **kwargs: Any) -> tuple[Any, float]:
        """``call``'s answer, and the seconds it took on the grader's clock (inputs written to answer read)."""
        response, seconds = self._call_request("call", target, args, kwargs, timeout=timeout)
        return response["value"], seconds

    def timed(self, target: Target, *args: Any, n: int = 5, warmup: int = 1,
              fresh: Callable[[int], tuple] | None = None, check: Callable[[Any, tuple], None] | None = None,
              then: tuple | None = None, per_request: int = 1, timeout: float | None = None,
              **kwargs: Any) -> Timing:
        """Seconds of a call of ``target`` on the grader's clock: ``n`` timed requests after ``warmup`` untimed ones.

        Each request is timed from before its inputs reach the kernel to the moment its answer has been read
        back (``clocked``): nothing the kernel says about time or completion counts. A request makes
        ``per_request`` calls in turn and counts as that many timings of its seconds / ``per_request``: a fast
        function (milliseconds) is then not drowned by a request's fixed cost (about 10 ms: a kernel
        execution and the files in and out), while inputs and answers still travel with every call.
        ``fresh(i)`` gives call ``i`` (warm-ups first) inputs of its own, never seen before, so that no call
        can be answered from an earlier one; without it every call gets ``args``. ``check(answer, inputs)``
        raises AssertionError for a wrong answer, so that only right answers are timed. ``then=(method,
        args[, kwargs])`` calls that method of the answer in the same request (a training timed together with its
        model's first prediction, so that training put off into ``predict`` is timed too); the answer is
        then ``[value, method's value]``. Raises ValueError for ``n`` or ``per_request`` under 1.
        """
        if n < 1 or per_request < 1:
            raise ValueError(f"timed needs n >= 1 and per_request >= 1; got n={n}, per_request={per_request}")
        seconds: list[float] = []
        value: Any = None
        calls = 0
        for request in range(warmup + n):
            inputs = [fresh(calls + k) if fresh is not None else args for k in range(per_request)]
            calls += per_request
            if per_request == 1:
                response, took = self._call_request("call", target, inputs[0], kwargs, timeout=timeout, then=then)
                answers = [response["value"]]
            else:
                response, took = self._calls_request(target, inputs, kwargs, timeout=timeout, then=then)
                answers = response["value"]
                if not isinstance(answers, list) or len(answers) != per_request:
                    raise unreadable("a list of answers of the wrong length")
            if check is not None:
                for answer, given in zip(answers, inputs, strict=True):
                    check(answer, given)
            value = answers[-1]
            if request >= warmup:
                seconds.extend([took / per_request] * per_request)
        return Timing(seconds=seconds, value=value)

    def predict(self, model: Remote, x: np.ndarray, **kwargs: Any) -> Any:
        """``model.predict(x, verbose=0, **kwargs)`` in the kernel."""
        kwargs.setdefault("verbose", 0)
        return self.call(model.attr("predict"), x, **kwargs)

    def config(self, obj: Remote) -> dict:
        """An object's ``to_json()`` (or ``get_config()``), parsed."""
        text = self._call_request("config", obj, (), {})[0]["value"]["json"]
        return json.loads(text)

    def get(self, target: Target) -> Any:
        """The value of a name or attribute in the kernel (arrays and JSON, else a Remote)."""
        return self._call_request("get", target, (), {})[0]["value"]

    def make(self, probe: Probe | str, **params: Any) -> Any:
        """A helper object built by the grader inside the kernel (see ``Probe``); ValueError for an unknown one."""
        try:
            probe = Probe(probe)
        except ValueError:
            raise ValueError(f"no probe {probe!r}; the agent makes {', '.join(p.value for p in Probe)}") from None
        arrays: dict[str, np.ndarray] = {}
        req = {"op": "make", "probe": probe.value, "params": {k: encode(v, arrays) for k, v in params.items()}}
        return self._request(req, arrays, None)[0]["value"]

    @contextlib.contextmanager
    def gated(self, waits: Sequence[float], lazy: bool = False) -> Iterator[Gate]:
        """A function in the kernel (``gate.fn``) whose k-th call lasts ``waits[k]`` seconds, held by the grader.

        The grader counts the calls (``gate.calls``) and records how long it held each (``gate.held``), so a
        timer handed ``gate.fn`` is judged against waits it cannot read beforehand. With ``lazy`` a call
        returns at once and its wait happens when its result is forced (``.numpy()``). Raises ValueError for
        no waits or a negative one.
        """
        self._gates += 1
        with Gate(self.data_folder(f"gate{self._gates}"), waits) as gate:
            gate.fn = self.make(Probe.GATED, folder=str(gate.folder), lazy=bool(lazy))
            yield gate

    def seed(self, seed: int, timeout: float | None = None) -> None:
        """Python's, NumPy's and TensorFlow's random seeds in the kernel (``keras.utils.set_random_seed``)."""
        self._request({"op": "seed", "seed": int(seed)}, {}, timeout)

    def determinism(self, on: bool, timeout: float | None = None) -> bool:
        """TensorFlow op determinism in the kernel on or off; whether it is on now."""
        return bool(self._request({"op": "determinism", "on": bool(on)}, {}, timeout)[0]["value"])

    def devices(self) -> list[str]:
        """TensorFlow's physical devices in the kernel, by name."""
        return self._request({"op": "devices"}, {}, None)[0]["value"]

    def files(self, folder: str = ".") -> list[str]:
        """Regular files the submission wrote under ``folder`` (relative), never following links."""
        return list_files(self.workdir, folder, skip=frozenset({OUT_DIR}))

    def data_folder(self, name: str) -> Path:
        """A fresh folder for data the judge makes for the kernel to read (e.g. images to load).

        It lies in the sandbox's inbox: the same path inside and out, and
        read-only inside, so a submission cannot change what it is judged on.
        Raises ValueError unless ``name`` is an identifier.
        """
        if not name.isidentifier():
            raise ValueError(f"data folder names are identifiers; got {name!r}")
        folder = self.run.sandbox.inbox / f"data-{name}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(mode=0o755)
        return folder

    def clean_peer(self) -> Handle:
        """A handle on a fresh kernel that has run nothing of the submission's, in a sandbox of its own with the
        same limits: a baseline timed there is out of the submission's reach (a patched ``tf.image.resize``
        cannot slow it). It lives until ``close`` (the judge closes it when the test ends); freeze the submission
        meanwhile (``frozen``)."""
        mine = self.run.sandbox
        sandbox = Sandbox(mine.limits, isolate=mine.isolated, threads=mine.threads)
        try:
            sandbox.start()
            sandbox.preload()
            peer = Handle(NotebookRun(nbformat.v4.new_notebook(), sandbox).run_all(), self.call_timeout)
        except BaseException:
            sandbox.close()
            raise
        self._peers.append(peer)
        return peer

    def wire_cost(self, fresh: Callable[[int], tuple], n: int = 5, warmup: int = 1, per_request: int = 1) -> float:
        """Median seconds of a request that carries ``fresh``'s inputs and brings the first back, computing nothing.

        What ``timed`` would report for a function that costs nothing, with
        inputs and an answer of these sizes: the wire's own cost. It is
        measured in a clean peer (started once per handle), with the
        submission frozen meanwhile, so the submission can neither inflate nor
        shrink it. Subtract it from ``timed(...).per_call`` where the data
        moved is large next to the work (a GPU's matmul of 4096x4096
        operands: the wire is ~0.2 s, the product ~0.01 s).
        """
        if self._wire is None:
            peer = self.clean_peer()
            self._wire = (peer, peer.make(Probe.ECHO))
        peer, echo = self._wire
        with self.frozen():
            return peer.timed(echo, n=n, warmup=warmup, fresh=fresh, per_request=per_request).per_call

    def frozen(self) -> AbstractContextManager:
        """Every process of the submission stopped for the block (``Sandbox.frozen``)."""
        return self.run.sandbox.frozen()

    def close(self) -> None:
        """Close the clean peers this handle started (the submission's own sandbox is its grader's to close)."""
        for peer in self._peers:
            peer.run.sandbox.close()
        self._peers.clear()
        self._wire = None

    def file(self, path: str, max_bytes: int = 64 * 2**20) -> bytes:
        """The bytes of a file the submission wrote (relative to its folder); links are refused."""
        return read_file(self.workdir, path, max_bytes)

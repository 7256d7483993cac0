"""The judge: hidden tests run here, in the trusted grader, against a narrow handle.

A hidden test is a plain function decorated with ``@test_case``; it gets
``sub`` (the handle to the submission's kernel) and ``ctx`` (the spec's
thresholds, the machine, notes and plots for the report)::

    @test_case(points=1, hint="relu(x) is max(x, 0), element by element")
    def relu_matches_reference(sub, ctx):
        x = np.linspace(-5, 5, 101, dtype="float32")
        np.testing.assert_allclose(sub.call("relu", x), np.maximum(x, 0), atol=1e-6)

Only arrays (``np.load(allow_pickle=False)``) and JSON come back from the
kernel; other objects stay there as ``Remote`` references.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import importlib.util
import inspect
import io
import json
import math
import os
import shutil
import stat
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder.execute import NotebookRun
from autograder.spec import Assignment, Question, SpecError

AGENT_SOURCE = (Path(__file__).parent / "kernel_agent.py").read_text()
MAX_RESPONSE_BYTES = 8 * 2**20
MAX_ARRAY_BYTES = 256 * 2**20  # all the arrays of one answer together
MAX_ITEMS = 10_000
REQUEST_ALLOWANCE = 0.05  # seconds a request may cost beyond the calls themselves
OUT_DIR = ".dlgrade-out"


# -- authoring API ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TestCase:
    __test__ = False
    name: str
    points: float
    hidden: bool
    hint: str
    fn: Callable


def test_case(points: float = 1, hidden: bool = True, hint: str = "", name: str | None = None):
    """Mark a function as a hidden (or visible) test worth ``points``."""

    def mark(fn: Callable) -> Callable:
        fn.__dlgrade_test__ = TestCase(name or fn.__name__, float(points), hidden, hint, fn)
        return fn

    return mark


test_case.__test__ = False  # not a pytest test, despite the name


def reference_figure(name: str):
    """Mark ``fn(reference_handle) -> float`` as a figure measured on the reference solution.

    Every declared figure is measured once at the start of a batch, on a quiet
    machine, before any submission runs; hidden tests read it with
    ``ctx.reference(name)``. ``fn(reference_handle, thresholds)`` also gets
    its question's thresholds from the spec.
    """

    def mark(fn: Callable[["Handle"], float]) -> Callable:
        fn.__dlgrade_figure__ = name
        return fn

    return mark


class SubmissionError(AssertionError):
    """The submission's code failed while the judge used it; the message is for the student."""

    def __init__(self, message: str, kind: str = ""):
        super().__init__(message)
        self.kind = kind


class NotDefined(SubmissionError):
    pass


class CallTimeout(SubmissionError):
    pass


class GraderFault(Exception):
    """The grader's own machinery failed (its disk, say): the grading breaks down and is redone, no test fails."""


class NotGraded(Exception):
    """A test that cannot be graded on this machine (e.g. no GPU); it scores nothing and says why."""


@dataclasses.dataclass(frozen=True)
class Remote:
    """An object that lives in the submission's kernel."""

    id: int
    type: str

    def attr(self, name: str) -> dict:
        return {"ref": self.id, "attr": name}


@dataclasses.dataclass
class Timing:
    inner: list[float]  # as the kernel measured each call
    outer: float  # as the grader measured the whole batch of calls, request included
    trusted_inner: bool  # False when the kernel's clock disagrees with ours (e.g. a patched perf_counter)
    value: Any = None  # what the last call returned
    calls: int = 1

    @property
    def per_call(self) -> float:
        if self.trusted_inner and self.inner:
            return statistics.median(self.inner)
        return self.outer / max(self.calls, 1)


# -- the handle -----------------------------------------------------------------


class Handle:
    """What a hidden test may ask of a submission. Every answer is untrusted data."""

    def __init__(self, run: NotebookRun, call_timeout: float, budget: float | None = None):
        self.run = run
        self.call_timeout = call_timeout
        # All the judge's calls together get at most ``budget`` seconds, so a
        # submission whose every function hangs cannot hold the grader for hours.
        self.deadline = time.monotonic() + budget if budget else None
        self._count = 0
        self.memo: dict[str, Any] = {}  # results that several tests of one submission share
        self._inject()

    @property
    def workdir(self) -> Path:
        return self.run.sandbox.workdir

    def _inject(self) -> None:
        if not self.run.sandbox.alive and not self.run.revive(self.deadline):
            raise SubmissionError("the kernel died and could not be restarted", "died")
        result = self.run.sandbox.run(AGENT_SOURCE, timeout=60)
        if not result.ok:
            raise SubmissionError(f"the grader could not talk to the kernel: {result.error_line()}", "kernel")

    def _target(self, target: str | Remote | dict) -> dict:
        if isinstance(target, str):
            return {"name": target}
        if isinstance(target, Remote):
            return {"ref": target.id}
        return target

    def _request(self, req: dict, arrays_in: dict[str, np.ndarray], timeout: float | None) -> tuple[dict, float]:
        sandbox = self.run.sandbox
        timeout = self.call_timeout if timeout is None else timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SubmissionError("not run: the time limit for grading this submission was reached", "budget")
            timeout = min(timeout, left)
        if not sandbox.alive:
            if not self.run.revive(self.deadline):
                raise SubmissionError("the kernel died and could not be restarted", "died")
            self._inject()
        self._count += 1
        # The request goes where only the grader can write (read-only inside);
        # the answer comes back through the kernel's own folder, read without
        # following links.
        request = sandbox.inbox / str(self._count)
        try:
            request.mkdir()
            for name, arr in arrays_in.items():
                np.save(request / name, arr, allow_pickle=False)
            (request / "request.json").write_text(json.dumps(req))
        except OSError as e:  # our disk, not the submission's doing: no test may fail for it
            shutil.rmtree(request, ignore_errors=True)
            raise GraderFault(f"the grader could not write its request to the kernel ({e})") from None
        prefix = f"{self._count}-"
        code = f"__dlgrade__.serve({str(request)!r}, {str(self.workdir / OUT_DIR)!r}, {prefix!r})"
        start = time.perf_counter()
        result = sandbox.run(code, timeout=timeout)
        elapsed = time.perf_counter() - start
        shutil.rmtree(request, ignore_errors=True)
        reader = _Reader(self.workdir, OUT_DIR, prefix)
        try:
            if result.status == "timeout":
                raise CallTimeout(f"did not finish within {timeout:.0f} s", "timeout")
            if result.status == "died":
                raise SubmissionError("the kernel died during the call (os._exit, a crash, or out of memory)", "died")
            if not result.ok:
                if result.error and result.error["ename"] == "NameError" and "__dlgrade__" in result.error["evalue"]:
                    self._inject()
                    return self._request(req, arrays_in, timeout)
                raise SubmissionError(f"the call failed: {result.error_line()}", "error")
            response = json.loads(reader.read("response.json", MAX_RESPONSE_BYTES))
            if not isinstance(response, dict):
                raise SubmissionError("the kernel sent back something unreadable", "protocol")
            if not response.get("ok"):
                err = response.get("error") if isinstance(response.get("error"), dict) else {}
                kind = str(err.get("type", "Error"))[:100]
                raise SubmissionError(f"{kind}: {str(err.get('message', ''))[:500]}", kind)
            response["value"] = self._decode(response.get("value"), reader)
            return response, elapsed
        except (ValueError, TypeError, KeyError) as e:  # malformed JSON or encodings from the kernel
            raise SubmissionError(f"the kernel sent back something unreadable ({type(e).__name__})", "protocol") from None
        finally:
            reader.close()

    def _decode(self, enc: Any, reader: "_Reader", depth: int = 0) -> Any:
        if not isinstance(enc, dict) or "t" not in enc or depth > 8:
            raise SubmissionError("the kernel sent back something unreadable", "protocol")
        kind = enc["t"]
        if kind == "json":
            return enc.get("v")
        if kind == "array":
            name = str(enc.get("file", ""))
            if "/" in name or not name.startswith(reader.prefix) or not name.endswith(".npy"):
                raise SubmissionError("the kernel sent back a bad file name", "protocol")
            data = reader.read(name[len(reader.prefix):], MAX_ARRAY_BYTES)
            try:
                return np.load(io.BytesIO(data), allow_pickle=False)
            except ValueError as e:
                raise SubmissionError(f"the result is not a plain numeric array ({e})", "protocol") from None
        if kind in ("list", "dict"):
            items = enc.get("items")
            if kind == "list" and isinstance(items, list) and len(items) <= MAX_ITEMS:
                return [self._decode(e, reader, depth + 1) for e in items]
            if kind == "dict" and isinstance(items, dict) and len(items) <= MAX_ITEMS:
                return {str(k): self._decode(v, reader, depth + 1) for k, v in items.items()}
            raise SubmissionError("the kernel sent back something unreadable", "protocol")
        if kind == "ref":
            return Remote(int(enc["id"]), str(enc.get("type", "?"))[:200])
        raise SubmissionError(f"the kernel sent back an unknown kind {str(kind)[:50]!r}", "protocol")

    def _encode(self, value: Any, arrays: dict[str, np.ndarray]) -> dict:
        if isinstance(value, Remote):
            return {"t": "ref", "id": value.id}
        if isinstance(value, np.ndarray) or isinstance(value, np.generic):
            name = f"in{len(arrays)}.npy"
            arrays[name] = np.asarray(value)
            return {"t": "array", "file": name}
        if isinstance(value, (list, tuple)):
            return {"t": "list" if isinstance(value, list) else "tuple",
                    "items": [self._encode(v, arrays) for v in value]}
        if isinstance(value, dict):
            return {"t": "dict", "items": {k: self._encode(v, arrays) for k, v in value.items()}}
        json.dumps(value)  # raises for anything that would not cross as data
        return {"t": "json", "v": value}

    def _call_request(self, op: str, target, args, kwargs, **extra) -> tuple[dict, float]:
        arrays: dict[str, np.ndarray] = {}
        req = {"op": op, "target": self._target(target),
               "args": [self._encode(a, arrays) for a in args],
               "kwargs": {k: self._encode(v, arrays) for k, v in kwargs.items()}}
        timeout = extra.pop("timeout", None)
        req.update(extra)
        try:
            return self._request(req, arrays, timeout)
        except NotDefined:
            raise
        except SubmissionError as e:
            if e.kind == "NameError" and isinstance(target, str):
                raise self._not_defined(target) from None
            raise

    def _not_defined(self, name: str) -> NotDefined:
        cell = self.run.cell_defining(name)
        if cell is None:
            return NotDefined(f"`{name}` is not defined in your notebook", "NameError")
        if cell.status != "ok":
            return NotDefined(f"`{name}` is not defined: {cell.label}, which defines it, did not run to the "
                              f"end ({cell.message})", "NameError")
        return NotDefined(f"`{name}` is not defined (it is defined in {cell.label}, but later code removed it)",
                          "NameError")

    # -- what tests use --------------------------------------------------------

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per submission, e.g. a training that several tests judge."""
        if key not in self.memo:
            try:
                self.memo[key] = ("ok", compute())
            except Exception as e:
                self.memo[key] = ("error", e)
        kind, value = self.memo[key]
        if kind == "error":
            raise value
        return value

    def call(self, target: str | Remote | dict, *args, timeout: float | None = None, **kwargs) -> Any:
        """Call a function (by name), a Remote, or ``remote.attr("method")`` with data arguments."""
        return self._call_request("call", target, args, kwargs, timeout=timeout)[0]["value"]

    def timed(self, target, *args, n: int = 5, warmup: int = 1, force: bool = True,
              timeout: float | None = None, **kwargs) -> Timing:
        """Time ``n`` calls after ``warmup`` untimed ones, in the kernel and from outside."""
        if warmup:
            self._call_request("call", target, args, kwargs, repeat=warmup, force=force, timeout=timeout)
        response, elapsed = self._call_request("call", target, args, kwargs, repeat=n, force=force, timeout=timeout)
        inner = [float(s) for s in response.get("seconds", []) if isinstance(s, (int, float))][:n]
        # A kernel whose clock says far less time passed than ours saw is lying
        # (e.g. a patched time.perf_counter); then only our clock counts. The
        # allowance for the request's own cost is fixed here, not measured in
        # the kernel, where it could be inflated.
        trusted = len(inner) == n and all(0 <= s for s in inner) and sum(inner) >= 0.5 * elapsed - REQUEST_ALLOWANCE
        return Timing(inner=inner, outer=elapsed, trusted_inner=trusted, value=response["value"], calls=n)

    def predict(self, model: Remote, x: np.ndarray, **kwargs) -> np.ndarray:
        kwargs.setdefault("verbose", 0)
        return self.call(model.attr("predict"), x, **kwargs)

    def config(self, obj: Remote) -> dict:
        text = self._call_request("config", obj, (), {})[0]["value"]["json"]
        return json.loads(text)

    def get(self, target: str | Remote | dict) -> Any:
        return self._call_request("get", target, (), {})[0]["value"]

    def make(self, probe: str, **params) -> Any:
        """A helper object built by the grader inside the kernel (see kernel_agent._PROBES)."""
        arrays: dict[str, np.ndarray] = {}
        req = {"op": "make", "probe": probe, "params": {k: self._encode(v, arrays) for k, v in params.items()}}
        return self._request(req, arrays, None)[0]["value"]

    def seed(self, seed: int, timeout: float | None = None) -> None:
        """Python's, NumPy's and TensorFlow's random seeds in the kernel (``keras.utils.set_random_seed``)."""
        self._request({"op": "seed", "seed": int(seed)}, {}, timeout)

    def determinism(self, on: bool, timeout: float | None = None) -> bool:
        """TensorFlow op determinism in the kernel on or off; whether it is on now."""
        return bool(self._request({"op": "determinism", "on": bool(on)}, {}, timeout)[0]["value"])

    def devices(self) -> list[str]:
        return self._request({"op": "devices"}, {}, None)[0]["value"]

    def files(self, folder: str = ".") -> list[str]:
        """Regular files the submission wrote under ``folder`` (relative), never following links."""
        try:
            fd = _open_dir(self.workdir, folder)
        except SubmissionError as e:
            if e.kind == "missing":
                return []
            raise
        found = []
        try:
            for dirpath, dirnames, filenames, dir_fd in os.fwalk(".", dir_fd=fd, follow_symlinks=False):
                dirnames[:] = [d for d in dirnames if d != OUT_DIR]
                for f in filenames:
                    try:
                        st = os.stat(f, dir_fd=dir_fd, follow_symlinks=False)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        found.append(os.path.normpath(os.path.join(folder, dirpath, f)))
                if len(found) > MAX_ITEMS:
                    break
        finally:
            os.close(fd)
        return sorted(found)

    def data_folder(self, name: str) -> Path:
        """A fresh folder for data the judge makes for the kernel to read (e.g. images to load).

        It lies in the sandbox's inbox: the same path inside and out, and
        read-only inside, so a submission cannot change what it is judged on.
        """
        if not name.isidentifier():
            raise ValueError(f"data folder names are identifiers; got {name!r}")
        folder = self.run.sandbox.inbox / f"data-{name}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(mode=0o755)
        return folder

    def file(self, path: str, max_bytes: int = 64 * 2**20) -> bytes:
        """The bytes of a file the submission wrote (relative to its folder); links are refused."""
        parent, _, name = os.path.normpath(path).rpartition("/")
        fd = _open_dir(self.workdir, parent or ".")
        try:
            return _read_at(fd, name, max_bytes, path)
        finally:
            os.close(fd)


def _open_dir(workdir: Path, rel: str) -> int:
    """A descriptor of the folder ``rel`` under ``workdir``, reached through no link at any step."""
    norm = os.path.normpath(rel)
    if os.path.isabs(rel) or norm == ".." or norm.startswith("../"):
        raise SubmissionError(f"{rel!r} is outside the submission's folder", "path")
    fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    for part in [p for p in norm.split("/") if p not in ("", ".")]:
        try:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        except FileNotFoundError:
            os.close(fd)
            raise SubmissionError(f"{rel!r} was not written", "missing") from None
        except OSError:
            os.close(fd)
            raise SubmissionError(f"{rel!r} cannot be read: {part} is a link or not a folder", "path") from None
        os.close(fd)
        fd = nxt
    return fd


def _read_at(dir_fd: int, name: str, max_bytes: int, label: str) -> bytes:
    """Read a regular file in an open folder: no links, no devices, bounded size."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except FileNotFoundError:
        raise SubmissionError(f"{label} was not written", "missing") from None
    except OSError as e:
        raise SubmissionError(f"{label} cannot be read ({e.strerror}; a link?)", "path") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SubmissionError(f"{label} is not a regular file", "path")
        if st.st_size > max_bytes:
            raise SubmissionError(f"{label} is {st.st_size} bytes; the limit is {max_bytes}", "size")
        return f.read(max_bytes + 1)[:max_bytes]


class _Reader:
    """Reads one answer's files from the kernel's out folder, within one byte budget, then removes them."""

    def __init__(self, workdir: Path, out_dir: str, prefix: str):
        self.prefix = prefix
        self.budget = MAX_ARRAY_BYTES
        self.names: list[str] = []
        try:
            self.fd = _open_dir(workdir, out_dir)
        except SubmissionError:
            self.fd = None

    def read(self, name: str, max_bytes: int) -> bytes:
        if self.fd is None:
            raise SubmissionError("the answer was not written", "missing")
        full = self.prefix + name
        if full in self.names:
            raise SubmissionError("the kernel sent the same file twice", "protocol")
        self.names.append(full)
        data = _read_at(self.fd, full, min(max_bytes, self.budget), name)
        self.budget -= len(data)
        return data

    def close(self) -> None:
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


# -- running hidden tests -------------------------------------------------------


@dataclasses.dataclass
class TestResult:
    __test__ = False  # a result, not a pytest test
    question: str
    name: str
    points: float
    max_points: float
    status: str  # passed | failed | not_graded
    hidden: bool
    message: str = ""
    hint: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    source: str = ""  # the test's code, only where the spec publishes hidden tests
    #: Speed checks (``Context.speed``): what, ratio, threshold, direction (at_least | at_most), margin, attempts.
    measured: list[dict] = dataclasses.field(default_factory=list)


MAX_MATRIX = 50
MAX_LABEL = 40
MAX_IMAGES = 32
MAX_IMAGE_SIDE = 128
MAX_CAPTION = 80


@dataclasses.dataclass
class Plot:
    question: str
    title: str
    series: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # kind "line"
    xlabel: str = "epoch"
    ylabel: str = ""
    kind: str = "line"  # line | confusion | images
    matrix: list[list[int]] | None = None  # kind "confusion": rows the true class, columns the predicted one
    labels: list[str] | None = None  # kind "confusion": the class names
    images: list[str] | None = None  # kind "images": each a base64 PNG
    captions: list[str] | None = None  # kind "images": one under each image


class Context:
    """What a hidden test knows besides the submission: its question's thresholds, the machine."""

    def __init__(self, spec: Assignment, question: Question, gpu: bool, calibration: "Calibration",
                 plots: list[Plot]):
        self.spec = spec
        self.question = question
        self.gpu = gpu
        self.calibration = calibration
        self.notes: list[str] = []
        self.measured: list[dict] = []
        self._plots = plots

    def threshold(self, key: str) -> Any:
        return self.question.threshold(key, str(self.spec.file))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def plot(self, title: str, series: dict[str, list[float]], xlabel: str = "epoch", ylabel: str = "") -> None:
        # NaN and inf (a diverged training) become gaps: results.json must stay strict JSON.
        clean = {str(k)[:50]: [float(v) if np.isfinite(v) else None for v in np.asarray(vals, dtype=float).ravel()[:10000]]
                 for k, vals in list(series.items())[:8]}
        self._plots.append(Plot(self.question.name, title, clean, xlabel, ylabel))

    def confusion(self, title: str, matrix, labels: list[str]) -> None:
        """A confusion matrix for the report: ``matrix[i][j]`` counts class ``i`` predicted as class ``j``."""
        try:
            m = np.asarray(matrix)
        except ValueError:
            raise ValueError("confusion: matrix is ragged; it must be a square array of counts") from None
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
            raise ValueError(f"confusion: matrix must be square (n x n), got shape {m.shape}")
        if m.shape[0] > MAX_MATRIX:
            raise ValueError(f"confusion: matrix is {m.shape[0]} x {m.shape[0]}; at most {MAX_MATRIX} classes")
        if m.dtype.kind not in "biuf":
            raise ValueError(f"confusion: matrix must hold numbers, got dtype {m.dtype}")
        if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(m != np.round(m)):
            raise ValueError("confusion: matrix must hold non-negative whole counts (no NaN, inf or fractions)")
        labels = [" ".join(str(label).split())[:MAX_LABEL] for label in labels]
        if len(labels) != m.shape[0]:
            raise ValueError(f"confusion: {len(labels)} labels for a {m.shape[0]} x {m.shape[0]} matrix")
        self._plots.append(Plot(self.question.name, title, kind="confusion",
                                matrix=m.astype(np.int64).tolist(), labels=labels))

    def images(self, title: str, images, captions: list[str]) -> None:
        """A grid of images for the report, each ``(h, w)`` grey or ``(h, w, 3)`` RGB, with a caption under each.

        Floats are read as [0, 1] (NaN as 0), integers as 0-255; an image over
        128 pixels a side is shrunk by striding.
        """
        images, captions = list(images), [" ".join(str(c).split())[:MAX_CAPTION] for c in captions]
        if not images:
            raise ValueError("images: no images given")
        if len(images) > MAX_IMAGES:
            raise ValueError(f"images: {len(images)} images; at most {MAX_IMAGES}")
        if len(captions) != len(images):
            raise ValueError(f"images: {len(captions)} captions for {len(images)} images; give one each")
        self._plots.append(Plot(self.question.name, title, kind="images",
                                images=[_png_base64(img, f"image {i}") for i, img in enumerate(images)],
                                captions=captions))

    def speed(self, what: str, measure: Callable[[int], float], threshold_key: str, at_most: bool = False,
              advice: str = "", attempts: int | None = None) -> float:
        """A speed ratio checked against ``threshold_key``, measured again while it fails narrowly.

        ``measure(attempt)`` returns the ratio (e.g. a speedup, or a time
        over the reference's). A shared machine only ever makes a submission
        look slower, so a miss within ``retry_within`` of the threshold (a
        fraction: 0.5 retries a speedup of 1.0 against 1.5, not one of 0.7)
        is measured again, up to ``attempts`` in all, and the best attempt
        counts; a far miss fails at once. Both come from the question's
        thresholds, else the spec's ``speed_policy``. The ratio, the
        threshold and the margin go into the result and the feedback.
        """
        needed = float(self.threshold(threshold_key))
        policy = self.spec.speed_policy
        if attempts is None:  # a measurement that costs a training each time passes attempts=1
            attempts = int(self.question.thresholds.get("attempts", policy.attempts))
        within = float(self.question.thresholds.get("retry_within", policy.retry_within))

        def margin(r: float) -> float:  # > 0: passes with room to spare, as a fraction of the threshold
            return (needed - r) / needed if at_most else (r - needed) / needed

        ratios: list[float] = []
        for attempt in range(1, max(1, attempts) + 1):
            ratios.append(float(measure(attempt)))
            best = min(ratios) if at_most else max(ratios)
            if not np.isfinite(best) or margin(best) >= 0 or margin(best) < -within:
                break
        entry = {"what": what, "ratio": best, "threshold": needed, "direction": "at_most" if at_most else "at_least",
                 "margin": margin(best), "attempts": len(ratios)}
        self.measured.append(entry)
        sign = "≤" if at_most else "≥"
        self.note(f"{what}: {best:.2f}x (needed {sign} {needed:g}x; margin {margin(best):+.0%}"
                  f"{'' if len(ratios) == 1 else f'; best of {len(ratios)} attempts'})")
        if not margin(best) >= 0:
            raise AssertionError(f"{what} is {best:.2f}x; {sign} {needed:g}x is needed" + (f": {advice}" if advice else ""))
        return best

    def rng(self, salt: str = "") -> np.random.Generator:
        seed = int.from_bytes(f"{self.spec.id}/{self.question.name}/{salt}".encode()[:32].ljust(32, b"\0"), "little")
        return np.random.default_rng(seed % 2**63)

    def reference(self, key: str, measure: Callable[[Handle], float] | None = None) -> float:
        """A figure measured on the reference solution on this machine, once per batch.

        ``key`` names a ``@reference_figure`` of the hidden tests; an ad-hoc
        ``measure`` is run on first use instead (within one grader process).
        """
        return self.calibration.get(key, measure)

    def time_here(self, fn: Callable, *args, n: int = 5, warmup: int = 1) -> float:
        """Median seconds of ``fn(*args)`` run in the grader itself: a baseline the submission cannot touch."""
        for _ in range(warmup):
            fn(*args)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn(*args)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)


def _png_base64(image, what: str) -> str:
    """One image as a base64 PNG, 8-bit grey or RGB, at most ``MAX_IMAGE_SIDE`` pixels a side."""
    from PIL import Image

    try:
        a = np.asarray(image)
    except ValueError:
        raise ValueError(f"images: {what} is ragged, not an array") from None
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)) or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"images: {what} has shape {a.shape}; expected (h, w) grey or (h, w, 3) RGB")
    if a.dtype.kind in "bf":
        a = np.round(np.clip(np.nan_to_num(a.astype(np.float64), nan=0.0), 0, 1) * 255)
    elif a.dtype.kind not in "iu":
        raise ValueError(f"images: {what} must hold numbers, got dtype {a.dtype}")
    a = np.clip(a, 0, 255).astype(np.uint8)
    step = -(-max(a.shape[:2]) // MAX_IMAGE_SIDE)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a[::step, ::step])).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


class Calibration:
    """Figures measured on the reference solution on this machine (e.g. its training time).

    A batch measures every declared figure once, at its start (``measure_all``),
    and hands the values to its graders; a figure a test asks for that was not
    declared is measured when first needed. Time spent measuring is never
    charged to a submission.
    """

    def __init__(self, values: dict[str, float] | None = None,
                 start_reference: Callable[[], Handle] | None = None,
                 figures: dict[str, Callable[[Handle], float]] | None = None):
        self.values: dict[str, float] = dict(values or {})
        self.figures = dict(figures or {})
        self._start_reference = start_reference
        self._handle: Handle | None = None
        self.failure: str | None = None
        self.spent = 0.0  # seconds spent measuring the reference, which no submission's budget pays for

    def get(self, name: str, measure: Callable[[Handle], float] | None = None) -> float:
        if name not in self.values:
            measure = measure or self.figures.get(name)
            if measure is None:
                raise NotGraded(f"the reference figure {name!r} is not declared by any hidden test file "
                                "(@reference_figure)")
            if self._start_reference is None:
                raise NotGraded("no reference solution is available to calibrate against")
            if self.failure:
                raise NotGraded(self.failure)
            started = time.monotonic()
            try:
                if self._handle is None:
                    self._handle = self._start_reference()
                self.values[name] = float(measure(self._handle))
            except Exception as e:  # the reference's fault, never the student's
                self.failure = f"the reference solution could not be measured here: {_first_line(str(e))}"
                raise NotGraded(self.failure) from None
            finally:
                self.spent += time.monotonic() - started
        return self.values[name]

    def measure_all(self) -> dict[str, float]:
        """Every declared figure not yet known; a failure is kept in ``failure``, not raised."""
        for name in self.figures:
            try:
                self.get(name)
            except NotGraded:
                break
        return dict(self.values)


@dataclasses.dataclass
class HiddenTests:
    """An assignment's hidden tests by question, and the reference figures they declare."""

    tests: dict[str, list[TestCase]]
    figures: dict[str, Callable[["Handle"], float]]


def load_hidden(spec: Assignment, hidden_dir: Path | None = None) -> HiddenTests:
    """Import ``hidden/q<N>_*.py``; the tests' points must add up to each question's points."""
    hidden_dir = hidden_dir or spec.hidden_dir
    tests: dict[str, list[TestCase]] = {q: [] for q in spec.questions}
    figures: dict[str, Callable] = {}
    for file in sorted(hidden_dir.glob("q*.py")):
        question = file.stem.split("_", 1)[0]
        if question not in spec.questions:
            raise SpecError(file, "(file name)", f"names question {question!r}, which {spec.file} does not have")
        mod_name = f"dlgrade_hidden_{spec.id}_{file.stem}"
        module_spec = importlib.util.spec_from_file_location(mod_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as e:
            raise SpecError(file, "(import)", f"the hidden test file fails to import: {type(e).__name__}: {e}") from e
        functions = [f for _, f in inspect.getmembers(module, inspect.isfunction) if f.__module__ == mod_name]
        found = [f.__dlgrade_test__ for f in functions if hasattr(f, "__dlgrade_test__")]
        found.sort(key=lambda t: t.fn.__code__.co_firstlineno)
        tests[question].extend(found)
        for f in functions:
            name = getattr(f, "__dlgrade_figure__", None)
            if name is None:
                continue
            if name in figures:
                raise SpecError(file, f.__name__, f"reference figure {name!r} is declared twice")
            if len(inspect.signature(f).parameters) >= 2:
                f = functools.partial(f, thresholds=dict(spec.questions[question].thresholds))
            figures[name] = f
    for name, question in spec.questions.items():
        total = sum(t.points for t in tests[name])
        if not tests[name]:
            raise SpecError(spec.file, f"questions.{name}", f"no hidden tests in {hidden_dir}/{name}_*.py")
        if abs(total - question.points) > 1e-9:
            raise SpecError(spec.file, f"questions.{name}.points",
                            f"is {question.points:g} but its hidden tests are worth {total:g}")
    return HiddenTests(tests, figures)


def load_tests(spec: Assignment, hidden_dir: Path | None = None) -> dict[str, list[TestCase]]:
    """The hidden tests of an assignment, by question (see ``load_hidden``)."""
    return load_hidden(spec, hidden_dir).tests


def judge(handle: Handle | None, spec: Assignment, tests: dict[str, list[TestCase]], gpu: bool,
          calibration: Calibration, setup_error: str = "") -> tuple[list[TestResult], list[Plot]]:
    """Run every hidden test; one failing, hanging or crashing test costs only its own points."""
    results: list[TestResult] = []
    plots: list[Plot] = []
    for qname, cases in tests.items():
        question = spec.questions[qname]
        deterministic = question.deterministic and handle is not None and _quietly(handle.determinism, True)
        runs = handle is not None and not (question.gpu_only and not gpu)
        for case in cases:
            ctx = Context(spec, question, gpu, calibration, plots)
            if runs:
                # Python's, NumPy's and TensorFlow's seeds, fixed per test: what a test leaves unseeded
                # (a weight initialiser, a shuffle) starts from the same state in every grading.
                _quietly(handle.seed, test_seed(spec.id, qname, case.name))
            result = TestResult(qname, case.name, 0.0, case.points, "failed", case.hidden, hint=case.hint,
                                source=inspect.getsource(case.fn) if spec.show_hidden_tests else "")
            start = time.perf_counter()
            spent_before = calibration.spent
            if question.gpu_only and not gpu:
                result.status, result.message = "not_graded", "not graded on this machine: no GPU"
            elif handle is None:
                result.message = setup_error or "the notebook could not be run"
            else:
                try:
                    case.fn(handle, ctx)
                    result.status, result.points = "passed", case.points
                except NotGraded as e:
                    result.status, result.message = "not_graded", f"not graded on this machine: {e}"
                except SubmissionError as e:
                    result.message = str(e)
                except AssertionError as e:
                    result.message = _first_line(str(e)) or "a check failed"
                except (SpecError, GraderFault):
                    raise
                except Exception as e:  # a bug in the submission's result, or in the test
                    result.message = f"{type(e).__name__}: {_first_line(str(e))}"
            result.seconds = time.perf_counter() - start
            if handle is not None and handle.deadline is not None:
                handle.deadline += calibration.spent - spent_before  # calibrating is not the student's time
            result.notes.extend(ctx.notes)
            result.measured.extend(ctx.measured)
            results.append(result)
        if deterministic:
            _quietly(handle.determinism, False)
    return results, plots


#: Seconds a housekeeping request (a seed, determinism) may take: a kernel that hangs on one fails its tests.
HOUSEKEEPING_TIMEOUT = 15.0


def test_seed(assignment: str, question: str, test: str) -> int:
    """A seed of its own for each hidden test, the same in every grading."""
    return int.from_bytes(hashlib.sha256(f"{assignment}/{question}/{test}".encode()).digest()[:4], "little")


test_seed.__test__ = False  # a helper, not a pytest test


def _quietly(request: Callable, *args) -> Any:
    """A housekeeping request to the kernel; a kernel that is gone or broken fails the tests themselves, not this."""
    try:
        return request(*args, timeout=HOUSEKEEPING_TIMEOUT)
    except (SubmissionError, OSError, RuntimeError, ValueError):
        return None


def median_verdict(known: list[float], k: int, passes: Callable[[float], bool]) -> bool | None:
    """The verdict on the median of ``k`` measurements if the ``known`` first ones already decide it.

    ``passes`` must be monotone (``x >= t`` or ``x <= t``). The rest may turn
    out anything, so the verdict is decided when the median passes even with
    every missing value at its worst, or fails even with every one at its
    best. A judge that stops there gives exactly the score that all ``k``
    would have given, for less work. None: measure another one.
    """
    missing = k - len(known)
    if missing <= 0:
        return passes(statistics.median(known))
    low = passes(statistics.median([*known, *[-math.inf] * missing]))
    high = passes(statistics.median([*known, *[math.inf] * missing]))
    return low if low == high else None


def _first_line(text: str, limit: int = 400) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " / ".join(lines[:3])[:limit]

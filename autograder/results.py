"""Every record a later stage reads, and the Gradescope/Otter ``results.json`` they make.

The records of one submission's way through (its cells, its tests, its
plots, who it belongs to, its late penalty) and of a batch (the bundle, the
reference figures) live here, at the bottom of the package: this module
imports no machinery, so the reports, the store and ``dlgrade report`` read
results without loading a sandbox or a kernel.

Scores come only from the judge's hidden tests (run in the trusted process).
Public checks run in the sandbox, so they are shown to the student but never
counted: a submission could fake them.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from pathlib import Path
from typing import Any

from autograder.late import TimeSource
from autograder.spec import Assignment

__all__ = ["NO_PUBLIC_TESTS", "Bundle", "CalibrationFigures", "CellResult", "CellStatus", "GradingResult", "Identity",
           "LatePenalty", "Override", "Plot", "PublicStatus", "QuestionResult", "ResultStatus", "SpeedCheck",
           "TestResult", "TestStatus", "TimeSource", "read", "write_json"]

#: The layout of ``extra_data`` in results.json and of the store's rows; bumped when a reader must change.
FORMAT_VERSION = 1


# -- statuses ----------------------------------------------------------------------


class ResultStatus(enum.StrEnum):
    """How a submission's grading ended."""

    GRADED = "graded"
    REJECTED = "rejected"  # the file is not a gradable notebook, or ran past its limits in Otter mode
    ERROR = "error"  # the grading broke down (the grader's fault or the machine's): a rerun grades it again


class CellStatus(enum.StrEnum):
    """What running one cell of the notebook gave."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    DIED = "died"  # the kernel died while the cell ran (os._exit, a signal, out of memory)
    EXITED = "exited"  # the cell ended the kernel on purpose (exit(), quit()): it is never run again
    SKIPPED = "skipped"


class TestStatus(enum.StrEnum):
    """A hidden test's verdict."""

    __test__ = False  # a status, not a pytest test
    PASSED = "passed"
    FAILED = "failed"
    NOT_GRADED = "not_graded"  # cannot be graded on this machine (e.g. no GPU); scores nothing and says why


class PublicStatus(enum.StrEnum):
    """What a question's public checks (``grader.check``) gave: shown to the student, never counted."""

    PASSED = "passed"
    FAILED = "failed"
    NONE = "none"  # the question has no public tests: nothing to check, never a failure
    NOT_RUN = "not_run"  # the checks could not be run (no ``grader``, a kernel that could not be revived)


#: What a question without public tests says where its public checks would be.
NO_PUBLIC_TESTS = "no public tests for this question"


# -- one submission ------------------------------------------------------------------


@dataclasses.dataclass
class CellResult:
    """One code cell as it ran: its position among all cells of the notebook (from 0), status and message."""

    index: int
    status: CellStatus
    seconds: float = 0.0
    message: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)  # what the grader did to the cell, and why

    def __post_init__(self) -> None:
        self.status = CellStatus(self.status)

    @property
    def label(self) -> str:
        return f"cell {self.index + 1}"


@dataclasses.dataclass
class SpeedCheck:
    """One speed ratio a test measured against its threshold (``Context.speed``).

    ``margin`` > 0 passes with room to spare, as a fraction of the threshold;
    ``direction`` is ``at_least`` (a speedup) or ``at_most`` (a time ratio).
    """

    what: str
    ratio: float
    threshold: float
    direction: str
    margin: float
    attempts: int

    @property
    def passed(self) -> bool:
        return self.margin >= 0


@dataclasses.dataclass
class Override:
    """A score a TA set by hand for one question (``test`` empty) or one hidden test, and why.

    The store keeps it apart from the automatic result (``Store.put_override``),
    so regrading never loses it; ``overrides.applied`` applies it and
    fills in ``automatic``, the score the tests gave, which stays on show
    beside it. ``at`` is ISO 8601 in UTC; ``by`` the TA's name.
    """

    question: str
    test: str
    score: float
    comment: str
    by: str
    at: str
    automatic: float | None = None  # the score it replaces, once applied

    @property
    def target(self) -> str:
        """``q3`` for a question, ``q3/test_name`` for one of its tests: what ``dlgrade override`` names."""
        return f"{self.question}/{self.test}" if self.test else self.question

    @property
    def automatic_text(self) -> str:
        """The automatic score it replaces, as shown (``?`` before it is applied)."""
        return f"{self.automatic:g}" if self.automatic is not None else "?"

    def change(self) -> str:
        """``1 -> 2``: the automatic score and the one set by hand."""
        return f"{self.automatic_text} -> {self.score:g}"

    def note(self) -> str:
        """One line for a page or results.json: the score, the automatic one, who, when and why."""
        was = f"automatic score {self.automatic:g}; " if self.automatic is not None else ""
        return (f"{self.target}: score set by hand to {self.score:g} ({was}by {self.by}, {self.at[:10]}): "
                f"{self.comment}")


@dataclasses.dataclass
class TestResult:
    """One hidden test's verdict for one submission."""

    __test__ = False  # a result, not a pytest test
    question: str
    name: str
    points: float
    max_points: float
    status: TestStatus
    hidden: bool
    message: str = ""
    hint: str = ""
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    source: str = ""  # the test's code, only where the spec publishes hidden tests
    measured: list[SpeedCheck] = dataclasses.field(default_factory=list)
    override: Override | None = None  # set by hand; ``points`` is then the override's score

    def __post_init__(self) -> None:
        self.status = TestStatus(self.status)
        self.measured = [m if isinstance(m, SpeedCheck) else SpeedCheck(**m) for m in self.measured]
        if isinstance(self.override, dict):
            self.override = Override(**self.override)


@dataclasses.dataclass
class Plot:
    """A figure for the feedback page, drawn by the reports from these numbers (never from the kernel's images)."""

    question: str
    title: str
    series: dict[str, list[float | None]] = dataclasses.field(default_factory=dict)  # kind "line"
    xlabel: str = "epoch"
    ylabel: str = ""
    kind: str = "line"  # line | confusion | images
    matrix: list[list[int]] | None = None  # kind "confusion": rows the true class, columns the predicted one
    labels: list[str] | None = None  # kind "confusion": the class names
    images: list[str] | None = None  # kind "images": each a base64 PNG
    captions: list[str] | None = None  # kind "images": one under each image


@dataclasses.dataclass
class QuestionResult:
    """One question's score: its hidden tests' results and, shown not counted, its public checks."""

    name: str
    title: str
    score: float
    max_score: float
    visibility: str
    tests: list[TestResult]
    # {"passed": bool, "text": str} from grader.check in the sandbox; "passed" is None where the bundle has no
    # public tests for the question (see ``public_status``); None when the checks could not be run.
    public: dict | None = None
    override: Override | None = None  # set by hand for the whole question; ``score`` is then the override's

    def __post_init__(self) -> None:
        if isinstance(self.override, dict):
            self.override = Override(**self.override)

    @property
    def automatic_score(self) -> float:
        """The score the hidden tests gave, whatever a TA set by hand."""
        if self.override is not None and self.override.automatic is not None:
            return self.override.automatic
        by_hand = sum(t.points - t.override.automatic for t in self.tests
                      if t.override is not None and t.override.automatic is not None)
        return round(self.score - by_hand, 6)

    @property
    def overrides(self) -> list[Override]:
        """What was set by hand in this question: the question's own override, then its tests'."""
        return [o for o in [self.override, *(t.override for t in self.tests)] if o is not None]

    @property
    def public_status(self) -> PublicStatus:
        """The public checks' verdict: passed, failed, none (the question has no public tests) or not run."""
        if self.public is None:
            return PublicStatus.NOT_RUN
        passed = self.public.get("passed")
        if passed is None:
            return PublicStatus.NONE
        return PublicStatus.PASSED if passed is True else PublicStatus.FAILED

    def output(self) -> str:
        """The question's lines in results.json: one per test, its notes beneath."""
        lines = [o.note() for o in self.overrides]
        for t in self.tests:
            mark = {TestStatus.PASSED: "PASS", TestStatus.FAILED: "FAIL", TestStatus.NOT_GRADED: "SKIP"}[t.status]
            line = f"[{mark}] {t.name} ({t.points:g}/{t.max_points:g})"
            if t.status != TestStatus.PASSED:
                detail = t.message + (f" Hint: {t.hint}" if t.hint and t.status == TestStatus.FAILED else "")
                line += f": {detail}"
            lines.append(line)
            lines.extend(f"       note: {n}" for n in t.notes)
        status = self.public_status
        if status != PublicStatus.NOT_RUN:
            lines.append("public checks: " + {PublicStatus.PASSED: "passed", PublicStatus.FAILED: "not all passed",
                                              PublicStatus.NONE: f"none ({NO_PUBLIC_TESTS})"}[status])
        return "\n".join(lines)


@dataclasses.dataclass
class Identity:
    """Who a submission belongs to, from the roster or an LMS's file name; empty where unknown."""

    name: str = ""
    canvas_id: str = ""
    sis_login: str = ""
    section: str = ""
    email: str = ""
    lms_late: bool = False  # the LMS's file name marks it LATE
    on_roster: bool = False  # the roster named the student: its student id is the institution's own

    def __bool__(self) -> bool:
        return any(dataclasses.astuple(self))


@dataclasses.dataclass
class LatePenalty:
    """The late policy's verdict on one graded submission (see ``late.LatePolicy.assess``)."""

    submitted_at: str | None  # ISO 8601, or None when no trustworthy time is known
    time_source: TimeSource
    hours_late: float
    penalty_percent: float
    penalty_points: float
    note: str
    due: str = ""  # ISO 8601: the deadline this student was held to (the spec's, or their extension's)
    extended: bool = False  # the roster gave this student a deadline of their own (due or extension_days)

    def __post_init__(self) -> None:
        self.time_source = TimeSource(self.time_source)


@dataclasses.dataclass
class GradingResult:
    """One submission's grading: every question's tests, the cells, the machine; see ``to_gradescope``."""

    assignment: str
    student: str
    source: str
    status: ResultStatus
    message: str = ""
    questions: list[QuestionResult] = dataclasses.field(default_factory=list)
    cells: list[CellResult] = dataclasses.field(default_factory=list)
    plots: list[Plot] = dataclasses.field(default_factory=list)
    machine: dict = dataclasses.field(default_factory=dict)
    fingerprint: str = ""
    isolation: str = ""
    limits: str = ""  # how the sandbox's resources were limited: a control group, or rlimits only and why
    gpu: bool = False
    calibration: dict[str, float] = dataclasses.field(default_factory=dict)
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    submitted_at: str | None = None  # ISO 8601, as far as the file tells; see ``time_source``
    time_source: TimeSource = TimeSource.UNKNOWN
    identity: Identity = dataclasses.field(default_factory=Identity)
    late: LatePenalty | None = None  # only where the spec has a deadline and the submission was graded
    notes: list[str] = dataclasses.field(default_factory=list)  # what reading the file changed (intake's notes)
    bundle: str = ""  # the digest of the bundle (hidden tests and spec) it was graded with; see ``Store.current``

    def __post_init__(self) -> None:
        self.status = ResultStatus(self.status)
        self.time_source = TimeSource(self.time_source)

    @property
    def score(self) -> float:
        """The raw score: the hidden tests' points (or a TA's, where set by hand), before any late penalty."""
        return round(sum(q.score for q in self.questions), 6)

    @property
    def automatic_score(self) -> float:
        """The raw score the hidden tests gave, whatever a TA set by hand."""
        return round(sum(q.automatic_score for q in self.questions), 6)

    @property
    def overrides(self) -> list[Override]:
        """Every score set by hand in this result, question by question."""
        return [o for q in self.questions for o in q.overrides]

    @property
    def penalty(self) -> float:
        """The late penalty in points: the policy's percent of the raw score, as a TA set it where one did."""
        if self.late is None:
            return 0.0
        if self.overrides:
            return round(max(0.0, self.score) * self.late.penalty_percent / 100, 6)
        return self.late.penalty_points

    @property
    def final_score(self) -> float:
        return round(max(0.0, self.score - self.penalty), 6)

    @property
    def possible(self) -> float:
        return round(sum(q.max_score for q in self.questions), 6)

    @classmethod
    def assemble(cls, spec: Assignment, tests: list[TestResult], public: dict[str, dict],
                 **fields: Any) -> GradingResult:
        """A result with one ``QuestionResult`` per question of ``spec``, each holding its ``tests``."""
        questions = []
        for name, q in spec.questions.items():
            mine = [t for t in tests if t.question == name]
            questions.append(QuestionResult(
                name=name, title=q.title, score=round(sum(t.points for t in mine), 6), max_score=q.points,
                visibility=q.visibility, tests=mine, public=public.get(name),
            ))
        return cls(assignment=spec.id, questions=questions, **fields)

    def to_gradescope(self) -> dict[str, Any]:
        """Gradescope's results.json, which Otter also reads; our details go in ``extra_data``."""
        return {
            "score": self.final_score,  # after any late penalty; each test's score is the raw one
            "execution_time": round(self.seconds.get("total", 0.0), 3),
            "output": self.summary_line(),
            "tests": [
                {"name": q.name, "score": q.score, "max_score": q.max_score,
                 "visibility": q.visibility, "output": q.output()}
                for q in self.questions
            ],
            "extra_data": self.to_dict(),
        }

    def summary_line(self) -> str:
        by_hand = (f" ({len(self.overrides)} score(s) set by hand; automatic raw score {self.automatic_score:g})"
                   if self.overrides else "")
        if self.status != ResultStatus.GRADED:
            return f"not graded: {self.message}" + by_hand
        text = f"{self.final_score:g} / {self.possible:g}" + by_hand
        if self.penalty:
            text += f" (raw {self.score:g}, late penalty -{self.penalty:g})"
        if self.isolation != "bubblewrap":
            text += f" (graded WITHOUT a sandbox: {self.isolation})"
        return text

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["format"] = FORMAT_VERSION
        data["score"], data["possible"], data["final_score"] = self.score, self.possible, self.final_score
        data["automatic_score"] = self.automatic_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradingResult:
        data = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        data["questions"] = [
            QuestionResult(**{**q, "tests": [TestResult(**t) for t in q["tests"]]}) for q in data.get("questions", [])
        ]
        data["cells"] = [CellResult(**c) for c in data.get("cells", [])]
        data["plots"] = [Plot(**p) for p in data.get("plots", [])]
        data["identity"] = Identity(**(data.get("identity") or {}))
        if data.get("late") is not None:
            data["late"] = LatePenalty(**data["late"])
        if not data.get("time_source"):
            data["time_source"] = TimeSource.UNKNOWN
        return cls(**data)


# -- a batch -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bundle:
    """A built assignment as the grader uses it: the spec, its hidden tests and the reference notebook.

    ``root`` is the bundle folder that ``dlgrade build`` writes (``dist/<id>/``):
    ``assignment.yaml``, ``hidden/``, ``reference.ipynb``, ``files/`` and
    ``manifest.json`` with the digest of them all.
    """

    spec: Assignment
    root: Path

    @property
    def reference(self) -> Path:
        return self.root / "reference.ipynb"

    @property
    def hidden_dir(self) -> Path:
        return self.root / "hidden"

    @property
    def files_dir(self) -> Path:
        """The spec's data files and folders, as built: copied beside the notebook in every sandbox."""
        return self.root / "files"

    @property
    def public_tests(self) -> frozenset[str] | None:
        """The questions that have public tests (what ``grader.check`` runs), or None where the bundle does not say.

        Otter Assign keeps them in the notebook's metadata (``otter.tests``), the
        reference's as the students'; None when the bundle has no reference
        notebook or its tests are kept outside it (then every question is checked).
        """
        try:
            tests = json.loads(self.reference.read_text())["metadata"]["otter"]["tests"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return frozenset(tests) if isinstance(tests, dict) else None

    @property
    def digest(self) -> str:
        manifest = self.root / "manifest.json"
        return json.loads(manifest.read_text()).get("digest", "") if manifest.exists() else ""


@dataclasses.dataclass
class CalibrationFigures:
    """The reference solution's figures on one machine, for one build and one way of running kernels.

    ``key`` says which (see ``grade.calibration_key``); ``values`` are the
    figures by name (seconds, for the course's figures); ``failure`` says why
    the reference could not be measured, in which case the checks that need
    the figures are not graded and no grader measures it again.
    """

    key: str
    values: dict[str, float] = dataclasses.field(default_factory=dict)
    failure: str | None = None


# -- files ---------------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def read(path: Path) -> GradingResult:
    """A results.json written by ``write_json(..., result.to_gradescope())``."""
    return GradingResult.from_dict(json.loads(Path(path).read_text())["extra_data"])

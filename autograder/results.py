"""One graded submission as data, and its Gradescope/Otter ``results.json``.

Scores come only from the judge's hidden tests (run in the trusted process).
Public checks run in the sandbox, so they are shown to the student but never
counted: a submission could fake them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from autograder.execute import CellResult
from autograder.judge import Plot, TestResult
from autograder.spec import Assignment

FORMAT_VERSION = 1


@dataclasses.dataclass
class QuestionResult:
    name: str
    title: str
    score: float
    max_score: float
    visibility: str
    tests: list[TestResult]
    public: dict | None = None  # {"passed": bool, "text": str} from grader.check in the sandbox

    def output(self) -> str:
        lines = []
        for t in self.tests:
            mark = {"passed": "PASS", "failed": "FAIL", "not_graded": "SKIP"}[t.status]
            line = f"[{mark}] {t.name} ({t.points:g}/{t.max_points:g})"
            if t.status != "passed":
                detail = t.message + (f" Hint: {t.hint}" if t.hint and t.status == "failed" else "")
                line += f": {detail}"
            lines.append(line)
            lines.extend(f"       note: {n}" for n in t.notes)
        if self.public is not None:
            lines.append(f"public checks: {'passed' if self.public.get('passed') else 'not all passed'}")
        return "\n".join(lines)


@dataclasses.dataclass
class GradingResult:
    assignment: str
    student: str
    source: str
    status: str  # graded | rejected (the file is not a gradable notebook) | error (grading broke down)
    message: str = ""
    questions: list[QuestionResult] = dataclasses.field(default_factory=list)
    cells: list[CellResult] = dataclasses.field(default_factory=list)
    plots: list[Plot] = dataclasses.field(default_factory=list)
    machine: dict = dataclasses.field(default_factory=dict)
    fingerprint: str = ""
    isolation: str = ""
    gpu: bool = False
    calibration: dict = dataclasses.field(default_factory=dict)
    seconds: dict = dataclasses.field(default_factory=dict)
    submitted_at: str | None = None  # ISO 8601; see intake.Submission
    time_source: str = ""  # where submitted_at came from: roster, zip or file
    # Who the student is, from the roster or the LMS's file name: name,
    # canvas_id, sis_login, section, email, lms_late.
    identity: dict = dataclasses.field(default_factory=dict)
    # The late-penalty assessment, where the spec has a deadline: submitted_at,
    # time_source, hours_late, penalty_percent, penalty_points, note.
    late: dict | None = None

    @property
    def score(self) -> float:
        """The raw score: the hidden tests' points, before any late penalty."""
        return round(sum(q.score for q in self.questions), 6)

    @property
    def penalty(self) -> float:
        return float(self.late.get("penalty_points", 0.0)) if self.late else 0.0

    @property
    def final_score(self) -> float:
        return round(max(0.0, self.score - self.penalty), 6)

    @property
    def possible(self) -> float:
        return round(sum(q.max_score for q in self.questions), 6)

    @classmethod
    def assemble(cls, spec: Assignment, tests: list[TestResult], public: dict[str, dict], **fields) -> "GradingResult":
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
        if self.status != "graded":
            return f"not graded: {self.message}"
        text = f"{self.final_score:g} / {self.possible:g}"
        if self.penalty:
            text += f" (raw {self.score:g}, late penalty -{self.penalty:g})"
        if self.isolation != "bubblewrap":
            text += f" (graded WITHOUT a sandbox: {self.isolation})"
        return text

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["format"] = FORMAT_VERSION
        data["score"], data["possible"], data["final_score"] = self.score, self.possible, self.final_score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GradingResult":
        data = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        data["questions"] = [
            QuestionResult(**{**q, "tests": [TestResult(**t) for t in q["tests"]]}) for q in data.get("questions", [])
        ]
        data["cells"] = [CellResult(**c) for c in data.get("cells", [])]
        data["plots"] = [Plot(**p) for p in data.get("plots", [])]
        return cls(**data)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


def read(path: Path) -> GradingResult:
    """A results.json written by ``write_json(..., result.to_gradescope())``."""
    return GradingResult.from_dict(json.loads(Path(path).read_text())["extra_data"])

"""Assignment specs: ``assignments/<id>/assignment.yaml`` loaded and checked.

Every threshold a hidden test uses lives here, never as a literal in test
code. A malformed spec is rejected with the file, the key and what to do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from autograder.errors import SpecError
from autograder.late import LatePolicy

VISIBILITIES = ("visible", "hidden", "after_published", "after_due_date")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed kernel (from the spec's ``limits``)."""

    cell_timeout: float = 120.0
    notebook_timeout: float = 900.0
    call_timeout: float = 300.0
    memory_mb: int = 4096
    max_processes: int = 256
    max_file_mb: int = 1024
    #: The kernel's folder is a tmpfs of this size when the grader runs as root: a submission cannot fill the disk.
    disk_mb: int = 2048
    output_chars: int = 20_000
    startup_timeout: float = 60.0
    #: Modules imported in a fresh kernel before the submission runs (the spec's ``preload``), so that a
    #: batch can start the next kernel while the current submission is judged.
    preload: tuple[str, ...] = ()
    #: tf.data's autotuning for the datasets of the kernel's code that do not choose (``autotune.enabled``
    #: unset). Off by default: each autotuned iterator (one per Keras epoch) holds its owner up to ~40 ms at
    #: its end (see ``sandbox.TF_DATA_DEFAULTS``), and a kernel capped at a core's share has little to tune.
    tf_data_autotune: bool = False


@dataclasses.dataclass(frozen=True)
class SpeedPolicy:
    """How a speed check that fails narrowly is measured again (the spec's ``speed_policy``)."""

    attempts: int = 3  # measurements at most; the best counts
    retry_within: float = 0.5  # only a miss within this fraction of the threshold is measured again


@dataclasses.dataclass(frozen=True)
class SimilarityPolicy:
    """When ``dlgrade similarity`` flags a pair of submissions (the spec's ``similarity``)."""

    threshold: float = 0.5  # the share of either submission's answer code found in the other, from 0 to 1
    noise: int = 15  # the shortest match that counts, in characters of normalised code (copydetect's noise_t)


@dataclasses.dataclass(frozen=True)
class Question:
    """One question of the spec: its points, thresholds, visibility and policies."""

    name: str
    title: str
    points: float
    thresholds: dict[str, Any]
    visibility: str = "visible"
    gpu_only: bool = False
    #: TensorFlow op determinism while this question's hidden tests run (it costs speed; see docs).
    deterministic: bool = False

    def threshold(self, key: str, spec_file: str = "assignment.yaml") -> Any:
        """The threshold ``key`` as the spec holds it; ``SpecError`` (naming the key) when it is missing."""
        if key not in self.thresholds:
            raise SpecError(spec_file, f"questions.{self.name}.thresholds.{key}",
                            "missing: a hidden test asks for it; add it to the spec")
        return self.thresholds[key]

    def number(self, key: str, spec_file: str = "assignment.yaml") -> float:
        """A numeric threshold as a float; ``SpecError`` when it is missing or not a number."""
        return float(self._typed_threshold(key, spec_file, (int, float), "a number such as 0.9"))

    def integer(self, key: str, spec_file: str = "assignment.yaml") -> int:
        """A whole-number threshold; ``SpecError`` when it is missing or not a whole number."""
        return int(self._typed_threshold(key, spec_file, (int,), "a whole number such as 200000"))

    def integers(self, key: str, spec_file: str = "assignment.yaml") -> list[int]:
        """A list of whole numbers (e.g. seeds); ``SpecError`` when it is missing or anything else."""
        value = self.threshold(key, spec_file)
        if not isinstance(value, list) or not value or any(isinstance(v, bool) or not isinstance(v, int)
                                                            for v in value):
            raise SpecError(spec_file, f"questions.{self.name}.thresholds.{key}",
                            f"expected a list of whole numbers such as [0, 1, 2], got {value!r}")
        return list(value)

    def _typed_threshold(self, key: str, spec_file: str, kinds: tuple[type, ...], example: str) -> Any:
        value = self.threshold(key, spec_file)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise SpecError(spec_file, f"questions.{self.name}.thresholds.{key}", f"expected {example}, got {value!r}")
        return value


#: How a data file beside the notebook is made: generator name -> its keyword arguments (name: type).
FILE_MAKERS: dict[str, dict[str, type]] = {
    "synthetic_higgs": {"rows": int, "seed": int},
    "copy": {"path": str},
    "face_pose": {"per_class": int, "size": int, "seed": int},
    "digits_folder": {"size": int},
}
#: Makers that write a folder tree at the file's name (``NAME/<class>/NNNNN.png``), not one file.
FOLDER_MAKERS = frozenset({"face_pose", "digits_folder"})
#: Bounds on makers' numeric arguments: (maker, argument) -> (lowest, highest or None).
FILE_ARG_BOUNDS: dict[tuple[str, str], tuple[int | None, int | None]] = {
    ("synthetic_higgs", "rows"): (1, None),
    ("face_pose", "per_class"): (1, None),
    ("face_pose", "size"): (8, 512),
    ("digits_folder", "size"): (8, 512),
}


@dataclasses.dataclass(frozen=True)
class DataFile:
    """A file put beside the notebook, for students and in every sandbox (the spec's ``files``)."""

    name: str
    maker: str  # a key of FILE_MAKERS
    params: tuple[tuple[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def is_folder(self) -> bool:
        """Whether the maker writes a folder tree at ``name`` rather than one file."""
        return self.maker in FOLDER_MAKERS


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A loaded, checked ``assignment.yaml``: questions, limits, policies, data files."""

    id: str
    title: str
    notebook: str
    questions: dict[str, Question]
    limits: Limits
    root: Path
    show_hidden_tests: bool = False
    late: LatePolicy | None = None  # no deadline: nothing is ever late
    files: tuple[DataFile, ...] = ()
    speed_policy: SpeedPolicy = SpeedPolicy()
    similarity: SimilarityPolicy = SimilarityPolicy()

    @property
    def file(self) -> Path:
        return self.root / "assignment.yaml"

    @property
    def hidden_dir(self) -> Path:
        return self.root / "hidden"

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions.values())

    def threshold(self, question: str, key: str) -> Any:
        return self.questions[question].threshold(key, str(self.file))


_LIMIT_KEYS = {
    "cell_timeout_s": "cell_timeout",
    "notebook_timeout_s": "notebook_timeout",
    "call_timeout_s": "call_timeout",
    "memory_mb": "memory_mb",
    "max_processes": "max_processes",
    "max_file_mb": "max_file_mb",
    "disk_mb": "disk_mb",
    "output_chars": "output_chars",
}
_LIMIT_FLAGS = {"tf_data_autotune": "tf_data_autotune"}  # true or false


def _require(mapping: dict, key: str, kind: type | tuple, file: Path, where: str) -> Any:
    if key not in mapping:
        raise SpecError(file, f"{where}{key}", "missing")
    return _typed(mapping[key], kind, file, f"{where}{key}")


def _typed(value: Any, kind: type | tuple, file: Path, key: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise SpecError(file, key, f"expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    if not isinstance(value, kinds):
        raise SpecError(file, key, f"expected {' or '.join(k.__name__ for k in kinds)}, got {value!r}")
    return value


_TOP_KEYS = ("assignment", "title", "notebook", "questions", "limits", "show_hidden_tests", "late", "preload",
             "files", "speed_policy", "similarity")
_QUESTION_KEYS = ("title", "points", "thresholds", "visibility", "gpu_only", "deterministic")


def load(path: Path | str) -> Assignment:
    """Load an assignment from its folder (or its assignment.yaml).

    Raises ``SpecError`` naming the file, the key and what is wrong for anything that is not a usable spec.
    """
    path = Path(path)
    file = path if path.suffix in (".yaml", ".yml") else path / "assignment.yaml"
    raw = _read_yaml(file)
    ident = _require(raw, "assignment", str, file, "")
    if ident != file.parent.name:
        raise SpecError(file, "assignment", f"{ident!r} does not match its folder name {file.parent.name!r}")
    notebook = _typed(raw.get("notebook", f"{ident}.ipynb"), str, file, "notebook")
    if not notebook.endswith(".ipynb") or "/" in notebook:
        raise SpecError(file, "notebook", f"{notebook!r} must be a plain file name ending in .ipynb")
    return Assignment(
        id=ident,
        title=_typed(raw.get("title", ident), str, file, "title"),
        notebook=notebook,
        questions=_questions(_require(raw, "questions", dict, file, ""), file),
        limits=_limits(raw.get("limits", {}), raw.get("preload", []), file),
        root=file.parent,
        show_hidden_tests=bool(_typed(raw.get("show_hidden_tests", False), bool, file, "show_hidden_tests")),
        late=_late(raw["late"], file) if "late" in raw else None,
        files=_files(raw.get("files", {}), file, notebook),
        speed_policy=_speed_policy(raw.get("speed_policy", {}), file),
        similarity=_similarity(raw.get("similarity", {}), file),
    )


def _read_yaml(file: Path) -> dict:
    if not file.exists():
        raise SpecError(file, "(file)", "not found; an assignment folder needs an assignment.yaml")
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise SpecError(file, where, f"not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(raw, dict):
        raise SpecError(file, "(top level)", "expected a mapping of keys such as assignment, questions, limits")
    for key in raw:
        if key not in _TOP_KEYS:
            raise SpecError(file, str(key), f"unknown key; expected one of {sorted(_TOP_KEYS)}")
    return raw


def _limits(raw: Any, preload: Any, file: Path) -> Limits:
    """``limits: {cell_timeout_s: 120, ...}`` and ``preload: [...]`` as one kernel's ``Limits``."""
    limit_args: dict[str, Any] = {}
    for key, value in _typed(raw, dict, file, "limits").items():
        if key in _LIMIT_FLAGS:
            limit_args[_LIMIT_FLAGS[key]] = _typed(value, bool, file, f"limits.{key}")
            continue
        if key not in _LIMIT_KEYS:
            known = sorted([*_LIMIT_KEYS, *_LIMIT_FLAGS])
            raise SpecError(file, f"limits.{key}", f"unknown limit; expected one of {known}")
        _typed(value, (int, float), file, f"limits.{key}")
        if value <= 0:
            raise SpecError(file, f"limits.{key}", f"must be positive, got {value}")
        limit_args[_LIMIT_KEYS[key]] = value
    return Limits(**limit_args, preload=_preload(preload, file))


def _questions(raw: dict, file: Path) -> dict[str, Question]:
    if not raw:
        raise SpecError(file, "questions", "no questions")
    return {name: _question(name, q, file) for name, q in raw.items()}


def _question(name: Any, q: Any, file: Path) -> Question:
    where = f"questions.{name}."
    if not isinstance(name, str) or not name.isidentifier():
        raise SpecError(file, f"questions.{name}", "a question name must be an identifier such as q1")
    _typed(q, dict, file, f"questions.{name}")
    for key in q:
        if key not in _QUESTION_KEYS:
            raise SpecError(file, f"{where}{key}", f"unknown key; expected {', '.join(_QUESTION_KEYS)}")
    points = _require(q, "points", (int, float), file, where)
    if points < 0:
        raise SpecError(file, f"{where}points", f"must not be negative, got {points}")
    visibility = _typed(q.get("visibility", "visible"), str, file, f"{where}visibility")
    if visibility not in VISIBILITIES:
        raise SpecError(file, f"{where}visibility", f"{visibility!r} is not one of {VISIBILITIES}")
    thresholds = dict(_typed(q.get("thresholds", {}), dict, file, f"{where}thresholds"))
    for key in ("attempts", "retry_within"):  # a question's own speed policy, checked as the spec's is
        if key in thresholds:
            _speed_value(thresholds[key], key, file, f"{where}thresholds.{key}")
    return Question(
        name=name,
        title=_typed(q.get("title", name), str, file, f"{where}title"),
        points=float(points),
        thresholds=thresholds,
        visibility=visibility,
        gpu_only=bool(_typed(q.get("gpu_only", False), bool, file, f"{where}gpu_only")),
        deterministic=bool(_typed(q.get("deterministic", False), bool, file, f"{where}deterministic")),
    )


def _speed_value(value: Any, key: str, file: Path, where: str) -> Any:
    if key == "attempts":
        _typed(value, int, file, where)
        if not 1 <= value <= 10:
            raise SpecError(file, where, f"must be between 1 and 10, got {value}")
    else:
        _typed(value, (int, float), file, where)
        if not 0 <= value <= 1:
            raise SpecError(file, where, f"must be a fraction between 0 and 1, got {value}")
    return value


def _speed_policy(raw: Any, file: Path) -> SpeedPolicy:
    """``speed_policy: {attempts: 3, retry_within: 0.5}``: how narrow misses of speed checks are measured again."""
    _typed(raw, dict, file, "speed_policy")
    for key in raw:
        if key not in ("attempts", "retry_within"):
            raise SpecError(file, f"speed_policy.{key}", "unknown key; expected attempts, retry_within")
    return SpeedPolicy(**{k: _speed_value(v, k, file, f"speed_policy.{k}") for k, v in raw.items()})


def _similarity(raw: Any, file: Path) -> SimilarityPolicy:
    """``similarity: {threshold: 0.5, noise: 15}``: when ``dlgrade similarity`` flags a pair."""
    _typed(raw, dict, file, "similarity")
    for key in raw:
        if key not in ("threshold", "noise"):
            raise SpecError(file, f"similarity.{key}", "unknown key; expected threshold, noise")
    if "threshold" in raw:
        _typed(raw["threshold"], (int, float), file, "similarity.threshold")
        if not 0 < raw["threshold"] <= 1:
            raise SpecError(file, "similarity.threshold", f"must be a fraction above 0, at most 1, got "
                                                          f"{raw['threshold']}")
    if "noise" in raw:
        _typed(raw["noise"], int, file, "similarity.noise")
        if not 5 <= raw["noise"] <= 500:
            raise SpecError(file, "similarity.noise", f"must be between 5 and 500 characters, got {raw['noise']}")
    return SimilarityPolicy(**raw)


def _files(raw: Any, file: Path, notebook: str) -> tuple[DataFile, ...]:
    """``files: {NAME: {MAKER: {ARG: VALUE}}}``, e.g. ``higgs_sample.csv.gz: {synthetic_higgs: {rows: 10000}}``.

    A maker in FOLDER_MAKERS makes a folder ``NAME`` instead, e.g. ``faces: {face_pose: {per_class: 200}}``.
    """
    _typed(raw, dict, file, "files")
    out = []
    for name, how in raw.items():
        key = f"files.{name}"
        # Not hidden also rules out "." and "..": the name is always a plain entry beside the notebook.
        if (not isinstance(name, str) or not name or any(c in name for c in "/\\\0") or name.startswith(".")
                or name == notebook):
            raise SpecError(file, key, "a file name must be a plain name (no folders, not hidden, not the notebook)")
        _typed(how, dict, file, key)
        if len(how) != 1 or next(iter(how)) not in FILE_MAKERS:
            raise SpecError(file, key, f"give exactly one of {sorted(FILE_MAKERS)}, e.g. {{synthetic_higgs: "
                                       "{rows: 10000, seed: 0}} or {copy: {path: /data/HIGGS.csv.gz}}")
        maker, params = next(iter(how.items()))
        _typed(params, dict, file, f"{key}.{maker}")
        wanted = FILE_MAKERS[maker]
        for arg, value in params.items():
            if arg not in wanted:
                raise SpecError(file, f"{key}.{maker}.{arg}", f"unknown argument; expected {sorted(wanted)}")
            _typed(value, wanted[arg], file, f"{key}.{maker}.{arg}")
            low, high = FILE_ARG_BOUNDS.get((maker, arg), (None, None))
            if low is not None and value < low or high is not None and value > high:
                bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise SpecError(file, f"{key}.{maker}.{arg}", f"must be {bounds}, got {value}")
        if maker == "copy" and "path" not in params:
            raise SpecError(file, f"{key}.copy.path", "missing")
        out.append(DataFile(name, maker, tuple(sorted(params.items()))))
    return tuple(out)


def _preload(raw: Any, file: Path) -> tuple[str, ...]:
    """Module names such as tensorflow or sklearn.datasets; nothing else may reach the kernel's import."""
    _typed(raw, list, file, "preload")
    names = []
    for i, name in enumerate(raw):
        _typed(name, str, file, f"preload[{i}]")
        if not all(part.isidentifier() for part in name.split(".")):
            raise SpecError(file, f"preload[{i}]", f"{name!r} is not a module name such as tensorflow")
        names.append(name)
    return tuple(names)


_LATE_KEYS = ("deadline", "grace_minutes", "per_day_percent", "per_hour_percent", "max_percent", "cutoff_days",
              "trust_file_times")


def _late(raw: Any, file: Path) -> LatePolicy:
    """The ``late`` key as a LatePolicy, every value checked so a typo can never cost a student points."""
    _typed(raw, dict, file, "late")
    for key in raw:
        if key not in _LATE_KEYS:
            raise SpecError(file, f"late.{key}", f"unknown key; expected one of {list(_LATE_KEYS)}")
    if "deadline" not in raw:
        raise SpecError(file, "late.deadline", "missing; give the deadline with its time zone, "
                                               "e.g. 2026-10-02T23:59:00+02:00")
    deadline = _deadline(raw["deadline"], file)

    def number(key: str, low: float, high: float | None = None) -> float | None:
        if key not in raw:
            return None
        value = _typed(raw[key], (int, float), file, f"late.{key}")
        if value < low or high is not None and value > high:
            bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise SpecError(file, f"late.{key}", f"must be {bounds}, got {value}")
        return float(value)

    per_day, per_hour = number("per_day_percent", 0, 100), number("per_hour_percent", 0, 100)
    if per_day is not None and per_hour is not None:
        raise SpecError(file, "late.per_hour_percent", "give per_day_percent or per_hour_percent, not both")
    max_percent = number("max_percent", 0, 100)
    if max_percent == 0:
        raise SpecError(file, "late.max_percent", "must be more than 0; to never penalise lateness, remove late")
    cutoff_days = number("cutoff_days", 0)
    if per_day is None and per_hour is None and cutoff_days is None:
        raise SpecError(file, "late", "no penalty given: add per_day_percent, per_hour_percent or cutoff_days "
                                      "(or remove late)")
    return LatePolicy(deadline=deadline, grace_minutes=number("grace_minutes", 0) or 0.0,
                      per_day_percent=per_day, per_hour_percent=per_hour,
                      max_percent=100.0 if max_percent is None else max_percent, cutoff_days=cutoff_days,
                      trust_file_times=_typed(raw.get("trust_file_times", False), bool, file,
                                              "late.trust_file_times"))


def _deadline(value: Any, file: Path) -> dt.datetime:
    """A deadline with a zone, from YAML's own timestamp or an ISO-8601 string."""
    example = "write it like 2026-10-02T23:59:00+02:00"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SpecError(file, "late.deadline", f"{value!r} is not an ISO-8601 time; {example}") from None
    if not isinstance(value, dt.datetime):
        kind = "a date without a time" if isinstance(value, dt.date) else f"{value!r}"
        raise SpecError(file, "late.deadline", f"{kind} is not a deadline; {example}")
    if value.tzinfo is None:
        raise SpecError(file, "late.deadline", f"{value.isoformat()} has no time zone, so it would mean "
                                               f"different times on different machines; {example} (or Z for UTC)")
    return value

"""A malformed spec is rejected with the file, the key and what is wrong."""

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest

from autograder import spec
from autograder.errors import SpecError
from autograder.judge.loader import load_tests

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text, name="a9"):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "assignment.yaml").write_text(textwrap.dedent(text))
    return folder


GOOD = """
assignment: a9
questions:
  q1:
    points: 2
    thresholds: {min_accuracy: 0.9}
"""


def test_the_real_spec_loads_and_matches_its_hidden_tests():
    a1 = spec.load(ROOT / "assignments" / "a1")
    assert a1.id == "a1" and a1.notebook == "a1.ipynb"
    assert a1.points == sum(t.points for cases in load_tests(a1).values() for t in cases)
    assert a1.threshold("q5", "min_accuracy") > 0.5
    assert a1.limits.cell_timeout > 0


def test_a_good_spec_loads(tmp_path):
    a = spec.load(write(tmp_path, GOOD))
    assert a.questions["q1"].points == 2.0 and a.threshold("q1", "min_accuracy") == 0.9


@pytest.mark.parametrize("text, key, words", [
    ("assignment: a9\n", "questions", "missing"),
    ("assignment: a8\nquestions: {q1: {points: 1}}\n", "assignment", "folder name"),
    ("assignment: a9\nquestions: {q1: {points: one}}\n", "questions.q1.points", "expected int or float"),
    ("assignment: a9\nquestions: {q1: {points: -1}}\n", "questions.q1.points", "negative"),
    ("assignment: a9\nquestions: {q1: {pts: 1}}\n", "questions.q1.pts", "unknown key"),
    ("assignment: a9\nspeed_policy: {attempts: 0}\nquestions: {q1: {points: 1}}\n", "speed_policy.attempts",
     "between 1 and 10, got 0"),
    ("assignment: a9\nspeed_policy: {retry_within: 2}\nquestions: {q1: {points: 1}}\n", "speed_policy.retry_within",
     "fraction between 0 and 1"),
    ("assignment: a9\nspeed_policy: {retries: 2}\nquestions: {q1: {points: 1}}\n", "speed_policy.retries",
     "unknown key"),
    ("assignment: a9\nquestions: {q1: {points: 1, thresholds: {attempts: 2.5}}}\n", "questions.q1.thresholds.attempts",
     "expected int"),
    ("assignment: a9\nquestions: {q1: {points: 1, deterministic: yes please}}\n", "questions.q1.deterministic",
     "expected bool"),
    ("assignment: a9\nquestions: {q1: {points: 1, visibility: secret}}\n", "questions.q1.visibility", "not one of"),
    ("assignment: a9\nlimits: {cell_timeout_s: 0}\nquestions: {q1: {points: 1}}\n", "limits.cell_timeout_s",
     "positive"),
    ("assignment: a9\nlimits: {gpu_hours: 3}\nquestions: {q1: {points: 1}}\n", "limits.gpu_hours", "unknown limit"),
    ("assignment: a9\nlimits: {tf_data_autotune: 1}\nquestions: {q1: {points: 1}}\n", "limits.tf_data_autotune",
     "expected bool"),
    ("assignment: a9\nnotebook: a9.txt\nquestions: {q1: {points: 1}}\n", "notebook", ".ipynb"),
    ("assignment: a9\nquestions: [q1]\n", "questions", "expected dict"),
    ("assignment: a9\nquestions: {q1: {points: 1}\n", "line", "not valid YAML"),
    ("- just\n- a list\n", "(top level)", "mapping"),
    ("assignment: a9\npreload: tensorflow\nquestions: {q1: {points: 1}}\n", "preload", "expected list"),
    ("assignment: a9\nfiles: {../x.csv: {copy: {path: x.csv}}}\nquestions: {q1: {points: 1}}\n", "files.../x.csv",
     "plain name"),
    ("assignment: a9\nfiles: {a.csv: {download: {url: x}}}\nquestions: {q1: {points: 1}}\n", "files.a.csv",
     "give exactly one of"),
    ("assignment: a9\nfiles: {a.csv: {synthetic_higgs: {rows: many}}}\nquestions: {q1: {points: 1}}\n",
     "files.a.csv.synthetic_higgs.rows", "expected int"),
    ("assignment: a9\nfiles: {a.csv: {synthetic_higgs: {n: 5}}}\nquestions: {q1: {points: 1}}\n",
     "files.a.csv.synthetic_higgs.n", "unknown argument"),
    ("assignment: a9\nfiles: {a.csv: {copy: {}}}\nquestions: {q1: {points: 1}}\n", "files.a.csv.copy.path", "missing"),
    ("assignment: a9\nfiles: {a.csv: {synthetic_higgs: {rows: 0}}}\nquestions: {q1: {points: 1}}\n",
     "files.a.csv.synthetic_higgs.rows", "at least 1"),
    ("assignment: a9\nfiles: {faces: {face_pose: {size: 4}}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose.size", "between 8 and 512, got 4"),
    ("assignment: a9\nfiles: {faces: {face_pose: {size: 513}}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose.size", "between 8 and 512"),
    ("assignment: a9\nfiles: {faces: {face_pose: {size: 32.0}}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose.size", "expected int"),
    ("assignment: a9\nfiles: {faces: {face_pose: {per_class: 0}}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose.per_class", "at least 1"),
    ("assignment: a9\nfiles: {faces: {face_pose: {seed: true}}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose.seed", "expected int"),
    ("assignment: a9\nfiles: {faces: {face_pose: {classes: 5}}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose.classes", "unknown argument"),
    ("assignment: a9\nfiles: {faces: {face_pose: [64]}}\nquestions: {q1: {points: 1}}\n",
     "files.faces.face_pose", "expected dict"),
    ("assignment: a9\nfiles: {digits: {digits_folder: {size: 7}}}\nquestions: {q1: {points: 1}}\n",
     "files.digits.digits_folder.size", "between 8 and 512"),
    ("assignment: a9\nfiles: {digits: {digits_folder: {seed: 1}}}\nquestions: {q1: {points: 1}}\n",
     "files.digits.digits_folder.seed", "unknown argument"),
    ("assignment: a9\nfiles: {digits: {digits_folder: {size: 16}, face_pose: {}}}\nquestions: {q1: {points: 1}}\n",
     "files.digits", "give exactly one of"),
    ("assignment: a9\nfiles: {..: {digits_folder: {}}}\nquestions: {q1: {points: 1}}\n", "files...", "plain name"),
    ("assignment: a9\nfiles: {data/faces: {face_pose: {}}}\nquestions: {q1: {points: 1}}\n", "files.data/faces",
     "plain name"),
    ("assignment: a9\nfiles: {'faces/': {face_pose: {}}}\nquestions: {q1: {points: 1}}\n", "files.faces/",
     "plain name"),
    ("assignment: a9\nfiles: {data\\faces: {face_pose: {}}}\nquestions: {q1: {points: 1}}\n", "files.data\\faces",
     "plain name"),
    ("assignment: a9\nfiles: {a9.ipynb: {digits_folder: {}}}\nquestions: {q1: {points: 1}}\n", "files.a9.ipynb",
     "plain name"),
    ("assignment: a9\npreload: [numpy, 'os; import shutil']\nquestions: {q1: {points: 1}}\n", "preload[1]",
     "not a module name"),
])
def test_bad_specs_name_file_and_key(tmp_path, text, key, words):
    folder = write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        spec.load(folder)
    assert err.value.key.startswith(key), err.value
    assert words in err.value.problem
    assert str(folder / "assignment.yaml") in str(err.value)


def test_preload_names_modules_for_the_kernel(tmp_path):
    a = spec.load(write(tmp_path, GOOD.replace("questions:", "preload: [numpy, sklearn.datasets]\nquestions:", 1)))
    assert a.limits.preload == ("numpy", "sklearn.datasets")
    assert spec.load(write(tmp_path, GOOD)).limits.preload == ()


def test_tf_data_autotune_is_off_unless_the_spec_keeps_it(tmp_path):
    assert spec.load(write(tmp_path, GOOD)).limits.tf_data_autotune is False
    kept = GOOD.replace("questions:", "limits: {tf_data_autotune: true}\nquestions:", 1)
    assert spec.load(write(tmp_path, kept)).limits.tf_data_autotune is True


def test_files_name_how_each_is_made(tmp_path):
    text = GOOD.replace("questions:", "files:\n  h.csv.gz: {synthetic_higgs: {rows: 50, seed: 3}}\nquestions:", 1)
    (f,) = spec.load(write(tmp_path, text)).files
    assert (f.name, f.maker, f.kwargs()) == ("h.csv.gz", "synthetic_higgs", {"rows": 50, "seed": 3})


def test_folder_makers_are_marked_as_folders(tmp_path):
    text = GOOD.replace("questions:", "files:\n  faces: {face_pose: {per_class: 3, size: 16, seed: 1}}\n"
                                      "  digits: {digits_folder: {size: 512}}\n"
                                      "  h.csv: {synthetic_higgs: {}}\nquestions:", 1)
    faces, digits, higgs = spec.load(write(tmp_path, text)).files
    assert (faces.name, faces.maker, faces.kwargs()) == ("faces", "face_pose", {"per_class": 3, "size": 16, "seed": 1})
    assert (digits.name, digits.maker, digits.kwargs()) == ("digits", "digits_folder", {"size": 512})
    assert faces.is_folder and digits.is_folder and not higgs.is_folder


def test_missing_threshold_names_the_key(tmp_path):
    a = spec.load(write(tmp_path, GOOD))
    with pytest.raises(SpecError, match=r"questions\.q1\.thresholds\.max_time_ratio: missing"):
        a.threshold("q1", "max_time_ratio")


def test_hidden_test_points_must_add_up(tmp_path):
    folder = write(tmp_path, GOOD)
    (folder / "hidden").mkdir()
    (folder / "hidden" / "q1_x.py").write_text(
        "from autograder.judge import test_case\n@test_case(points=1)\ndef only_one(sub, ctx):\n    pass\n")
    with pytest.raises(SpecError, match=r"questions\.q1\.points: is 2 but its hidden tests are worth 1"):
        load_tests(spec.load(folder))


def test_hidden_file_for_an_unknown_question(tmp_path):
    folder = write(tmp_path, GOOD)
    (folder / "hidden").mkdir()
    (folder / "hidden" / "q7_x.py").write_text("")
    with pytest.raises(SpecError, match="q7_x.py.*names question 'q7'"):
        load_tests(spec.load(folder))


def test_hidden_file_that_fails_to_import(tmp_path):
    folder = write(tmp_path, GOOD)
    shutil.os.makedirs(folder / "hidden")
    (folder / "hidden" / "q1_x.py").write_text("import does_not_exist_anywhere\n")
    with pytest.raises(SpecError, match="q1_x.py.*fails to import: ModuleNotFoundError"):
        load_tests(spec.load(folder))


def test_gpu_only_questions_are_not_graded_without_a_gpu(tmp_path):
    from autograder.judge.calibration import Calibration
    from autograder.judge.runner import judge

    folder = write(tmp_path, "assignment: a9\nquestions:\n  q1: {points: 1, gpu_only: true}\n")
    (folder / "hidden").mkdir()
    (folder / "hidden" / "q1_x.py").write_text(
        "from autograder.judge import test_case\n@test_case(points=1)\ndef fast_on_gpu(sub, ctx):\n"
        "    raise AssertionError('ran')\n")
    a = spec.load(folder)
    results, _ = judge(None, a, load_tests(a), gpu=False, calibration=Calibration())
    assert [(r.status, r.message) for r in results] == [("not_graded", "not graded on this machine: no GPU")]


# -- late: the deadline and its penalty ----------------------------------------------


def late_spec(late: str) -> str:
    return "assignment: a9\nquestions: {q1: {points: 2}}\nlate:\n" + textwrap.indent(textwrap.dedent(late), "  ")


def test_no_late_key_means_no_policy(tmp_path):
    assert spec.load(write(tmp_path, GOOD)).late is None


def test_a_late_policy_loads(tmp_path):
    from autograder.late import LatePolicy

    a = spec.load(write(tmp_path, late_spec("""
        deadline: 2026-10-02T23:59:00+02:00   # YAML reads this as a datetime itself
        grace_minutes: 15
        per_day_percent: 10
        max_percent: 50
        cutoff_days: 7
    """)))
    cest = dt.timezone(dt.timedelta(hours=2))
    assert a.late == LatePolicy(deadline=dt.datetime(2026, 10, 2, 23, 59, tzinfo=cest), grace_minutes=15.0,
                                per_day_percent=10.0, max_percent=50.0, cutoff_days=7.0)
    quoted = spec.load(write(tmp_path, late_spec("""
        deadline: "2026-10-02T21:59:00Z"
        per_hour_percent: 1.5
    """))).late
    assert quoted.deadline == a.late.deadline and quoted.per_hour_percent == 1.5
    assert (quoted.grace_minutes, quoted.per_day_percent, quoted.max_percent, quoted.cutoff_days) == \
        (0, None, 100, None)


@pytest.mark.parametrize("late, key, words", [
    ("per_day_percent: 10\n", "late.deadline", "missing"),
    ("deadline: 2026-10-02T23:59:00\nper_day_percent: 10\n", "late.deadline", "no time zone"),
    ("deadline: '2026-10-02 23:59'\nper_day_percent: 10\n", "late.deadline", "no time zone"),
    ("deadline: 2026-10-02\nper_day_percent: 10\n", "late.deadline", "a date without a time"),
    ("deadline: next friday\nper_day_percent: 10\n", "late.deadline", "not an ISO-8601 time"),
    ("deadline: 20261002\nper_day_percent: 10\n", "late.deadline", "is not a deadline"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: -5\n", "late.per_day_percent", "between 0 and 100"),
    ("deadline: 2026-10-02T23:59:00Z\nper_hour_percent: 150\n", "late.per_hour_percent", "between 0 and 100"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: ten\n", "late.per_day_percent", "expected int or float"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: true\n", "late.per_day_percent", "expected int or float"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: 10\nper_hour_percent: 1\n", "late.per_hour_percent",
     "not both"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: 10\ngrace_minutes: -1\n", "late.grace_minutes", "at least 0"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: 10\nmax_percent: 0\n", "late.max_percent", "more than 0"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: 10\ncutoff_days: -1\n", "late.cutoff_days", "at least 0"),
    ("deadline: 2026-10-02T23:59:00Z\nper_day_percent: 10\npenalty: 5\n", "late.penalty", "unknown key"),
    ("deadline: 2026-10-02T23:59:00Z\n", "late", "no penalty given"),
])
def test_bad_late_policies_name_the_key(tmp_path, late, key, words):
    folder = write(tmp_path, late_spec(late))
    with pytest.raises(SpecError) as err:
        spec.load(folder)
    assert err.value.key == key, err.value
    assert words in err.value.problem
    assert str(folder / "assignment.yaml") in str(err.value)


def test_late_must_be_a_mapping(tmp_path):
    folder = write(tmp_path, "assignment: a9\nquestions: {q1: {points: 2}}\nlate: 2026-10-02T23:59:00Z\n")
    with pytest.raises(SpecError, match=r"late: expected dict"):
        spec.load(folder)

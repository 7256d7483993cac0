"""``dlgrade export gradescope``: the zip's members, modes and pins, its scripts shellcheck-clean, the same bytes."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from support import dlgrade

from autograder.errors import UsageError
from autograder.gradescope import Config, export_autograder, pinned_requirements
from autograder.gradescope.export import PYTHON_MARK

SCRIPTS = ("setup.sh", "run_autograder")


def test_the_zip_holds_the_scripts_the_pins_dlgrade_and_the_bundle(exported, a1_bundle):
    zipped, printed = exported
    assert f"Gradescope autograder: {zipped}" in printed and "dist/ (" in printed
    with zipfile.ZipFile(zipped) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
        config = json.loads(z.read("dlgrade-gradescope.json"))
        setup = z.read("setup.sh").decode()
        bundle = {n: z.read(n) for n in names if n.startswith("dist/")}
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "requirements.txt", "dlgrade-gradescope.json", "dlgrade/pyproject.toml",
            "dlgrade/README.md", "dlgrade/autograder/__init__.py", "dlgrade/autograder/gradescope/run.py",
            "dlgrade/autograder/gradescope/setup.sh", "dlgrade/autograder/reports/templates/feedback.html.j2"} \
        <= set(names)
    assert all(n.startswith(("dist/a1/", "dlgrade/")) or n in (*SCRIPTS, "requirements.txt", "dlgrade-gradescope.json")
               for n in names), names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/." in n or n.startswith(".")]
    assert modes["run_autograder"] & 0o777 == modes["setup.sh"] & 0o777 == 0o755
    assert all(modes[n] & 0o777 == 0o644 for n in names if n not in SCRIPTS)
    # The bundle as `dlgrade build` writes it: every file, byte for byte.
    built = {f"dist/a1/{p.relative_to(a1_bundle.root).as_posix()}": p.read_bytes()
             for p in a1_bundle.root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert bundle == built and "dist/a1/manifest.json" in bundle and "dist/a1/reference.ipynb" in bundle
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert config == {"assignment": "a1", "digest": a1_bundle.digest, "python": python,
                      "dlgrade": importlib.metadata.version("dlgrade"), "format": 1}
    assert PYTHON_MARK not in setup and f'python_version="{python}"' in setup


def test_requirements_pin_dlgrades_dependencies_as_installed_here(exported):
    zipped, _ = exported
    with zipfile.ZipFile(zipped) as z:
        lines = z.read("requirements.txt").decode().splitlines()
    assert lines == pinned_requirements("dlgrade")
    pins = dict(line.split("==") for line in lines)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!_-]+", line) for line in lines), lines
    keys = [re.sub(r"[-_.]+", "-", name).lower() for name in pins]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # sorted by canonical name, each once
    for direct in ("tensorflow", "otter-grader", "nbformat", "PyYAML", "psutil", "distributed"):
        assert pins.get(direct) == importlib.metadata.version(direct), direct
    assert "keras" in pins and "numpy" in pins  # needed by what dlgrade needs: the closure, not the first level
    assert "dlgrade" not in pins and "ruff" not in pins and "mypy" not in pins  # itself, and its test extra


def test_the_same_bundle_exports_the_same_bytes(a1_bundle, tmp_path):
    first = export_autograder(a1_bundle, tmp_path / "one.zip")
    (tmp_path / "two").mkdir()
    second = export_autograder(a1_bundle, tmp_path / "two")  # a folder: the zip goes in it
    assert second.path == tmp_path / "two" / "a1-gradescope.zip"
    assert first.path.read_bytes() == second.path.read_bytes()
    assert "dist/ (" in " ".join(first.contents()) and "setup.sh" in first.contents()


def test_an_unwritable_target_is_refused_before_anything_is_written(a1_bundle, tmp_path):
    with pytest.raises(UsageError, match="cannot write the Gradescope autograder to .*missing"):
        export_autograder(a1_bundle, tmp_path / "missing" / "autograder.zip")


def test_the_config_names_a_bad_file_and_key(tmp_path):
    (tmp_path / "dlgrade-gradescope.json").write_text('{"assignment": "a1", "python": 3.11}')
    with pytest.raises(UsageError, match=r"dlgrade-gradescope.json: digest: missing"):
        Config.read(tmp_path)
    with pytest.raises(UsageError, match="cannot be read"):
        Config.read(tmp_path / "nowhere")


def test_an_unknown_assignment_or_requirement_is_an_error_naming_it(tmp_path):
    proc = dlgrade("export", "gradescope", "a99", "-o", str(tmp_path))
    assert proc.returncode == 2 and "a99" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(UsageError, match="no-such-dist is not installed here"):
        pinned_requirements("no-such-dist")


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install "
                                                               "shellcheck)")
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_scripts_are_shellcheck_clean(exported, tmp_path, script):
    zipped, _ = exported
    with zipfile.ZipFile(zipped) as z:
        (tmp_path / script).write_bytes(z.read(script))
    proc = subprocess.run(["shellcheck", "--severity=style", str(tmp_path / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

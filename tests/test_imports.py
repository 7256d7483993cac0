"""What dlgrade's processes import at start: rfc3987_syntax is put off until used, and still works then."""

import subprocess
import sys

import pytest

pytest.importorskip("rfc3987_syntax")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_dlgrade_does_not_build_rfc3987_parsers_at_start():
    out = _run("import sys, autograder.batch, jsonschema; "
               "print(type(sys.modules['rfc3987_syntax']).__name__, 'lark' in sys.modules)")
    assert out == "_Deferred False"


def test_jsonschema_iri_checks_still_validate_once_used():
    out = _run("import sys, autograder, jsonschema; fc = jsonschema.FormatChecker(); "
               "print(fc.conforms('https://example.org/caf\u00e9?q=1', 'iri'), fc.conforms('no scheme here', 'iri'), "
               "type(sys.modules['rfc3987_syntax']).__name__)")
    assert out == "True False module"


def test_rfc3987_syntax_imported_by_name_is_the_real_module():
    out = _run("import autograder, rfc3987_syntax; print(rfc3987_syntax.is_valid_syntax('iri_reference', '../x'), "
               "callable(rfc3987_syntax.make_syntax_validator))")
    assert out == "True True"


def test_rfc3987_syntax_submodules_still_import():
    out = _run("import autograder, rfc3987_syntax.syntax_helpers as h, rfc3987_syntax; "
               "print(h.is_valid_syntax('iri', 'x:y'), rfc3987_syntax.is_valid_syntax('iri', 'nope'))")
    assert out == "True False"

"""Imports put off until they are used.

``jsonschema`` (imported by ``nbformat``, so by every dlgrade process and by
Otter in each kernel) imports ``rfc3987_syntax`` for its ``iri`` format
checks, and that package builds about 35 Earley parsers at import: 3 CPU-s
in every process, before anything else runs (jsonschema issue 1428). No
notebook schema uses the ``iri`` formats. ``defer_rfc3987_syntax`` puts a
stand-in module in its place: the real package is imported, unchanged, the
first time anything of it is used, so an ``iri`` check still validates as
before.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

NAME = "rfc3987_syntax"
_LOCK = threading.Lock()


class _Deferred(types.ModuleType):
    """Stands for a module until one of its names is used; then it is that module's."""

    def __getattr__(self, attr: str):
        if attr.startswith("__"):  # import machinery probing a stand-in
            raise AttributeError(attr)
        return getattr(_load(), attr)


def _load() -> types.ModuleType:
    """The real module, imported now if it is not yet (two threads may ask at once)."""
    with _LOCK:
        if isinstance(sys.modules.get(NAME), _Deferred):
            del sys.modules[NAME]
    return importlib.import_module(NAME)


def is_valid_syntax(term: str, value: str) -> bool:
    """What ``jsonschema`` imports by name: the real function, imported on the first call."""
    return _load().is_valid_syntax(term, value)


def defer_rfc3987_syntax() -> None:
    """Put off importing ``rfc3987_syntax`` in this process, unless it (or jsonschema) is imported already."""
    if NAME in sys.modules or "jsonschema._format" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(NAME)
    except (ImportError, ValueError):
        return
    if spec is None:  # not installed: jsonschema goes without it, as it would anyway
        return
    stand_in = _Deferred(NAME, "stand-in for rfc3987_syntax until it is used (autograder._deferred)")
    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    stand_in.__path__ = list(spec.submodule_search_locations or [])  # its submodules still import
    sys.modules[NAME] = stand_in

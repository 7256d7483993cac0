"""What an exported Gradescope autograder holds, and where: the paths that the export writes and the grading reads.

Gradescope unpacks the zip into ``/autograder/source``; everything below is
relative to that folder:

    setup.sh, run_autograder     Gradescope's two scripts (run_autograder is copied to /autograder)
    requirements.txt             dlgrade's dependencies, pinned to the versions the export was made with
    dlgrade-gradescope.json      this module's ``Config``: the assignment, Python's and dlgrade's versions
    dlgrade/                     dlgrade's own source (pyproject.toml, README.md, autograder/)
    dist/<id>/                   the grader's bundle, as ``dlgrade build`` writes it
    calibration/gradebook.sqlite the reference figures setup.sh measured (made there, never in the zip)
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from autograder.errors import UsageError

CONFIG = "dlgrade-gradescope.json"
REQUIREMENTS = "requirements.txt"
SETUP = "setup.sh"
RUN = "run_autograder"
#: dlgrade's source, installed by setup.sh with ``pip install --no-deps``.
PACKAGE = "dlgrade"
#: The bundles' folder: named ``dist`` as ``dlgrade build`` names it, so the bundle folder is recognised as one.
BUNDLES = "dist"
#: The store of reference figures that setup.sh measures, keyed by the machine's fingerprint (see ``batch.calibrate``).
CACHE = "calibration/gradebook.sqlite"
#: The layout of ``Config``; bumped when a reader must change.
FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Config:
    """The exported autograder's facts: the assignment, the bundle's digest, and the versions it was made with.

    ``python`` is the minor version (``3.11``) that setup.sh installs: the
    pins in requirements.txt hold for it.
    """

    assignment: str
    digest: str
    python: str
    dlgrade: str
    format: int = FORMAT

    @property
    def bundle(self) -> str:
        """The bundle's folder inside the source folder, e.g. ``dist/a1``."""
        return f"{BUNDLES}/{self.assignment}"

    def to_json(self) -> bytes:
        """The config file's bytes: sorted keys, so that one export always writes the same."""
        return (json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True) + "\n").encode()

    @classmethod
    def read(cls, source: Path) -> Config:
        """The config in the source folder ``source``; ``UsageError`` naming the file (and key) when unusable."""
        path = Path(source) / CONFIG
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"{path}: cannot be read ({getattr(e, 'strerror', None) or e}); is {source} the "
                             "unpacked zip of `dlgrade export gradescope`?") from None
        if not isinstance(data, dict):
            raise UsageError(f"{path}: not a JSON object")
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        for key in fields:
            if key != "format" and not isinstance(data.get(key), str):
                raise UsageError(f"{path}: {key}: missing or not a string")
        if data.get("format", FORMAT) != FORMAT:
            raise UsageError(f"{path}: format: {data['format']!r}; this dlgrade reads format {FORMAT}: export "
                             "the autograder again with this dlgrade")
        return cls(**{k: v for k, v in data.items() if k in fields})

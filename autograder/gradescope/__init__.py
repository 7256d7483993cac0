"""Gradescope: an assignment exported as a programming assignment's autograder, and the grading it runs there.

``dlgrade export gradescope a1 -o autograder.zip`` writes a zip that
Gradescope unpacks into ``/autograder/source`` (``layout`` says what lies
where). Its ``setup.sh`` installs the exporting machine's Python minor
version, bubblewrap and dlgrade's pinned dependencies once, and measures the
reference solution; its ``run_autograder`` grades each submission with
dlgrade's own batch machinery into ``/autograder/results/results.json``.
See ``docs/GRADESCOPE.md``.

Rooms, each one job:

- ``layout``: the zip's paths and its config (``Config``);
- ``submission``: the upload's one gradable file, and ``submission_metadata.json`` as a roster;
- ``export``: the zip (``export_autograder``), with the pins (``pinned_requirements``);
- ``run``: grading in the container (``grade_submission``) and setup's calibration (``measure_reference``);
- ``__main__``: ``python -m autograder.gradescope run|calibrate``, what the scripts call.
"""

from autograder.gradescope.export import Export, export_autograder, pinned_requirements
from autograder.gradescope.layout import Config

__all__ = ["Config", "Export", "export_autograder", "pinned_requirements"]

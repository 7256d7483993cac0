"""``python -m autograder.gradescope run|calibrate``: the programs an exported autograder's scripts run.

``run`` (``run_autograder``, for each submission) grades Gradescope's
``submission/`` into ``results/results.json`` and exits 0 once that is
written, whatever the grade; ``calibrate`` (setup.sh's last step) measures
the reference solution into the source folder's cache and exits 0 also when
measuring failed (grading then measures), non-zero only where dlgrade itself
cannot run (a missing bundle, a broken install).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder.gradescope import run


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv``; the exit status."""
    p = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                description="dlgrade inside Gradescope's container")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="grade root/submission into root/results/results.json")
    r.add_argument("--root", type=Path, default=Path(os.environ.get("DLGRADE_GRADESCOPE_ROOT") or "/autograder"),
                   help="Gradescope's tree (default: $DLGRADE_GRADESCOPE_ROOT, else /autograder)")
    c = sub.add_parser("calibrate", help="measure the reference solution into the source folder's cache")
    c.add_argument("--source", type=Path, required=True, help="the unpacked autograder zip (/autograder/source)")
    args = p.parse_args(argv)
    if args.command == "run":
        data = run.grade_submission(args.root, log=lambda line: print(line, flush=True))
        print(f"results.json written: score {data.get('score')}", flush=True)
        return 0
    figures = run.measure_reference(args.source, log=lambda line: print(line, flush=True))
    if figures is not None and figures.failure:
        print(f"warning: the reference could not be measured ({figures.failure}); each grading measures it "
              "instead", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``dlgrade`` command: parses arguments, calls ``autograder.api``, prints, sets the exit code."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder import api
from autograder.build import BuildError
from autograder.intake import IntakeError
from autograder.spec import SpecError


def _print_result(result) -> None:
    status = result.summary_line()
    where = f"{result.student}: {status}"
    if result.status == "graded":
        per_q = " ".join(f"{q.name}={q.score:g}/{q.max_score:g}" for q in result.questions)
        where += f"   [{per_q}]  ({result.seconds.get('total', 0):.0f} s)"
    print(where, flush=True)


def cmd_build(args) -> int:
    result = api.build(args.assignment, root=args.root, check=args.check)
    if args.check:
        if result.stale:
            print(f"student_template/{args.assignment} is stale; run `dlgrade build {args.assignment}`:")
            for line in result.stale:
                print(f"  {line}")
            return 1
        print(f"student_template/{args.assignment} is current")
        return 0
    print(f"student notebook: {result.student_notebook}\ngrader bundle:    {result.bundle}")
    return 0


def cmd_grade(args) -> int:
    files = api.submissions_in(args.submissions)
    if not files:
        print("nothing to grade: no .ipynb or .zip files among " + ", ".join(map(str, args.submissions)),
              file=sys.stderr)
        return 2
    graded = []

    def show(result) -> None:
        graded.append(result)
        _print_result(result)

    results = api.grade(args.assignment, files, args.output, student=args.student, root=args.root,
                        isolate=False if args.no_sandbox else None, on_result=show,
                        workers=args.workers, force=args.force)
    unchanged = len(files) - len(graded)
    if unchanged > 0:
        print(f"{unchanged} submission(s) already graded and unchanged: kept (--force grades them again)")
    print(f"results in {args.output}/<student>/ (results.json, feedback.html, executed.ipynb); "
          f"gradebook: {args.output / 'gradebook.csv'}")
    return 0 if results else 2


def cmd_report(args) -> int:
    results = api.report(args.output)
    print(f"rebuilt the reports of {len(results)} submission(s) in {args.output}: "
          f"<student>/feedback.html, <student>/results.json, gradebook.csv, summary.html")
    return 0


def cmd_check(args) -> int:
    report = api.check(args.assignment, args.notebook, root=args.root)
    for cell in report.failed_cells:
        print(f"{cell.label}: {cell.status}: {cell.message}")
    for name, q in report.questions.items():
        print(f"{name}: {'passed' if q['passed'] else 'FAILED'}")
        if not q["passed"] and q.get("text"):
            print("    " + q["text"].strip().replace("\n", "\n    "))
    if not report.questions:
        print("the public tests could not be run (does the notebook's first cell create `grader`?)")
    return 0 if report.all_passed else 1


def cmd_demo(args) -> int:
    root = args.root or api.build_mod.find_root()
    out = args.output
    for assignment in args.assignments:
        examples = root / "assignments" / assignment / "examples"
        print(f"== {assignment}: building", flush=True)
        api.build(assignment, root=root)
        files = api.submissions_in([examples])
        print(f"== {assignment}: grading {len(files)} example submissions from {examples}", flush=True)
        started = time.perf_counter()
        api.grade(assignment, files, out / assignment, root=root, on_result=_print_result, force=True)
        print(f"== {assignment}: done in {time.perf_counter() - started:.0f} s; class summary for TAs: "
              f"{out / assignment / 'summary.html'}; gradebook: {out / assignment / 'gradebook.csv'}; feedback reports:")
        for f in files:
            print(f"   {out / assignment / api.intake.student_id(f) / 'feedback.html'}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlgrade", description="Sandboxed autograding for TensorFlow/Keras courses.")
    p.add_argument("--root", type=Path, help="the course folder (default: the nearest one with assignments/)")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="make the student notebook and the grader's bundle")
    b.add_argument("assignment")
    b.add_argument("--check", action="store_true", help="exit 1 if student_template/ is not what a build makes")
    b.set_defaults(func=cmd_build)

    g = sub.add_parser("grade", help="grade submissions (.ipynb or grader.export() zips, or folders of them)")
    g.add_argument("assignment")
    g.add_argument("submissions", nargs="+", type=Path)
    g.add_argument("-o", "--output", type=Path, required=True, help="results folder")
    g.add_argument("--student", help="the student id (default: the file name's stem)")
    g.add_argument("--no-sandbox", action="store_true", help="grade without bubblewrap (unsafe; recorded in results)")
    g.add_argument("--workers", type=int, help="graders in parallel (default: what cores and memory allow)")
    g.add_argument("--force", action="store_true", help="grade again even what is already graded and unchanged")
    g.set_defaults(func=cmd_grade)

    r = sub.add_parser("report", help="rebuild feedback, results.json, gradebook.csv and summary.html from the store")
    r.add_argument("output", type=Path, help="a results folder that `dlgrade grade -o` wrote")
    r.set_defaults(func=cmd_report)

    c = sub.add_parser("check", help="run a notebook's public tests from a terminal")
    c.add_argument("assignment")
    c.add_argument("notebook", type=Path)
    c.set_defaults(func=cmd_check)

    d = sub.add_parser("demo", help="build, grade the example submissions, write reports")
    d.add_argument("-o", "--output", type=Path, default=Path("demo-results"))
    d.add_argument("--assignments", nargs="+", default=["a1"])
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (SpecError, BuildError, IntakeError, ValueError) as e:
        print(f"dlgrade: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlgrade: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The ``dlgrade`` command: parses arguments, calls ``autograder.api``, prints, sets the exit code."""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import threading
import time
from pathlib import Path

from autograder import api, hardware
from autograder.errors import DlgradeError, StoreError
from autograder.progress import Progress, closing_summary
from autograder.results import NO_PUBLIC_TESTS


def cmd_build(args) -> int:
    """``dlgrade build A [--check]``: make the student notebook and bundle, or check the committed one."""
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


def cmd_handout(args) -> int:
    """``dlgrade handout A [-o FILE]``: the zip a course posts for students: the notebook and its data files."""
    result = api.handout(args.assignment, args.output, root=args.root)
    if result.built:
        print(f"built {args.assignment} first: {result.built}")
    print(f"handout: {result.path}\n  " + "\n  ".join(result.contents()))
    return 0


def cmd_export(args) -> int:
    """``dlgrade export gradescope A [-o FILE]``: the zip Gradescope takes as a programming assignment's autograder."""
    from autograder import gradescope

    bundle = api.bundle_for(args.assignment, root=args.root)  # built first where missing or outdated
    result = gradescope.export_autograder(bundle, args.output)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"Gradescope autograder: {result.path}\n  " + "\n  ".join(result.contents()))
    print(f"Python {result.config.python}, {len(result.pins)} pinned requirements, dlgrade {result.config.dlgrade}; "
          "upload it as a programming assignment's autograder (Ubuntu 22.04 base image); see docs/GRADESCOPE.md")
    return 0


def _what_to_grade(args) -> tuple[str | None, list[Path]] | None:
    """The assignment (None in Otter mode) and the paths given; None after saying what is missing."""
    if args.otter_zip:
        assignment, given = None, args.items
    elif len(args.items) < 2:
        print("dlgrade grade: give the assignment and at least one submission file or folder "
              "(or --otter-zip AG.zip and submissions)", file=sys.stderr)
        return None
    else:
        assignment, given = args.items[0], args.items[1:]
    paths = [Path(p) for p in given]
    if not api.submissions_in(paths):
        print("nothing to grade: no .ipynb or .zip files among " + ", ".join(map(str, paths)), file=sys.stderr)
        return None
    return assignment, paths


def cmd_grade(args) -> int:
    """``dlgrade grade``: grade submissions into a results folder; exit 0 when anything is stored."""
    asked = _what_to_grade(args)
    if asked is None:
        return 2
    assignment, paths = asked
    from autograder.batch import BatchEvents, GradeOptions

    terminal = _Terminal(args.quiet)

    options = GradeOptions(workers=args.workers, scheduler=args.scheduler, student=args.student,
                           isolate=False if args.no_sandbox else None, force=args.force,
                           regrade=tuple(args.regrade or ()), calibration_from=args.calibration_from,
                           roster=args.roster, canvas_column=args.canvas_column, keep_stale=args.keep_stale)
    report = api.grade(assignment, paths, args.output, options,
                       BatchEvents(terminal.log, terminal.on_plan, terminal.on_result),
                       root=args.root, otter_zip=args.otter_zip, otter_timeout=args.timeout,
                       otter_notebook=args.notebook_name, otter_cell_timeout=args.cell_timeout)
    terminal.close()
    if not args.quiet:
        print(closing_summary(report.new, report.results, report.kept,
                              set_aside=[(i.outcome.value, i.path.name) for i in report.set_aside],
                              stale=report.stale))
        print(f"results in {args.output}/<student>/ (results.json, feedback.html, executed.ipynb); "
              f"gradebook: {args.output / 'gradebook.csv'}; class summary: {args.output / 'summary.html'}")
    return 0 if report.results else 2


class _Terminal:
    """What ``dlgrade grade`` shows while it works: the plan, a progress bar (or lines), the batch's news."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.progress: Progress | None = None

    def on_plan(self, todo: int, kept: int) -> None:
        self.progress = Progress(todo, "quiet" if self.quiet else "auto")
        if not self.quiet:
            print(f"{todo} submission(s) to grade" + (f", {kept} already graded and unchanged" if kept else ""),
                  flush=True)
            self.progress.draw()

    def log(self, line: str) -> None:
        if self.quiet:
            return
        if self.progress:
            self.progress.close()
        print(line, flush=True)
        if self.progress:
            self.progress.draw()

    def on_result(self, result) -> None:
        if self.progress:
            self.progress.update(result)

    def close(self) -> None:
        if self.progress:
            self.progress.close()


def cmd_report(args) -> int:
    """``dlgrade report OUT``: rewrite every report from the store."""
    results = api.report(args.output, log=print)
    print(f"rebuilt the reports of {len(results)} submission(s) in {args.output}: "
          f"<student>/feedback.html, <student>/results.json, gradebook.csv, summary.html")
    return 0


def cmd_override(args) -> int:
    """``dlgrade override OUT STUDENT TARGET --score N --comment WHY`` (or ``--clear``): a TA's score by hand."""
    if args.clear and (args.score is not None or args.comment is not None or args.by is not None):
        print("dlgrade override: --clear takes back an override; give it without --score, --comment or --by",
              file=sys.stderr)
        return 2
    student, applied = api.override(args.output, args.student, args.target, args.score, args.comment or "",
                                    by=args.by, clear=args.clear, log=print)
    if applied is None:
        print(f"{student}: the override of {args.target} is cleared; the automatic score counts again")
    else:
        print(f"{student}: {applied.target} set by hand, {applied.change()} points (by {applied.by}); "
              f"{args.output / student / 'feedback.html'}, gradebook.csv, canvas_import.csv and summary.html show it")
    return 0


def cmd_overrides(args) -> int:
    """``dlgrade overrides OUT``: every score set by hand, with the automatic one beside it."""
    rows = api.overrides(args.output)
    if not rows:
        print(f"no scores set by hand in {args.output}")
        return 0
    for row in rows:
        o = row.override
        flags = "".join([" [graded again since: check it still applies]" if row.regraded_since else "",
                         f" [APPLIED TO NOTHING: {row.problem}]" if row.problem else ""])
        comment = " ".join(o.comment.split())  # one line per override, whatever the comment holds
        print(f"{row.student}\t{o.target}\t{o.change()}\tby {o.by}\t{o.at}\t{comment}{flags}")
    return 0


def cmd_similarity(args) -> int:
    """``dlgrade similarity OUT``: pairs of submissions whose answer code is alike, on a page for TAs."""
    report, page = api.similarity(args.output, template=args.template, threshold=args.threshold,
                                  noise=args.noise, root=args.root)
    flagged = report.flagged
    print(f"compared {len(report.compared)} submissions ({len(report.pairs)} pairs), the student template "
          f"subtracted; {len(flagged)} pair(s) at or above {100 * report.threshold:.0f}%:")
    for pair in flagged[:20]:
        print(f"  {100 * pair.similarity:3.0f}%  {pair.a}  {pair.b}")
    if len(flagged) > 20:
        print(f"  ... and {len(flagged) - 20} more")
    for student, why in report.not_compared:
        print(f"  not compared: {student}: {why}")
    print(f"side by side, for TAs: {page} (linked from the class summary); no score was changed")
    return 0


def cmd_check(args) -> int:
    """``dlgrade check A NB``: the notebook's public tests from a terminal; exit 0 when none fails.

    A question without public tests says so and changes nothing.
    """
    report = api.check(args.assignment, args.notebook, root=args.root)
    for cell in report.failed_cells:
        print(f"{cell.label}: {cell.status}: {cell.message}")
    for name, q in report.questions.items():
        if q["passed"] is None:  # nothing to check: not a failure
            print(f"{name}: {NO_PUBLIC_TESTS}")
            continue
        print(f"{name}: {'passed' if q['passed'] else 'FAILED'}")
        if not q["passed"] and q.get("text"):
            print("    " + q["text"].strip().replace("\n", "\n    "))
    if not report.questions:
        print("the public tests could not be run (does the notebook's first cell create `grader`?)")
    return 0 if report.all_passed else 1


def cmd_demo(args) -> int:
    """``dlgrade demo``: build every assignment, grade its example submissions side by side, write reports."""
    root = args.root or api.build_mod.find_root()
    out = args.output
    examples = {a: root / "assignments" / a / "examples" for a in args.assignments}
    for assignment in args.assignments:
        print(f"== {assignment}: building", flush=True)
        api.build(assignment, root=root)
    # The assignments' batches run side by side and share the machine's cores as grading slots: a
    # reference being measured or a submission being graded holds one. One batch alone would leave
    # cores idle while its reference is measured and while its last, longest submission runs.
    from autograder.batch import BatchEvents, GradeOptions, shared_slots

    cores = max(1, hardware.machine().get("cores") or 1)
    slots = shared_slots(cores)
    printing = threading.Lock()

    def say(line: str) -> None:
        with printing:
            print(line, flush=True)

    def grade(assignment: str) -> None:
        files = api.submissions_in([examples[assignment]])
        say(f"== {assignment}: grading {len(files)} example submissions from {examples[assignment]}")
        started = time.perf_counter()
        progress = Progress(len(files), "lines", stream=_Prefixed(f"{assignment} ", say))
        roster = examples[assignment] / "roster.csv"
        options = GradeOptions(force=True, roster=roster if roster.exists() else None)
        events = BatchEvents(log=lambda line: say(f"   {assignment}: {line}"), on_result=progress.update)
        report = api.grade(assignment, files, out / assignment, options, events, root=root, slots=slots)
        similar, _ = api.similarity(out / assignment, root=root)
        say("\n".join([
            f"== {assignment}: done in {time.perf_counter() - started:.0f} s",
            closing_summary(report.new, report.results, report.kept),
            f"   class summary for TAs: {out / assignment / 'summary.html'}; gradebook: "
            f"{out / assignment / 'gradebook.csv'} (Canvas import: {out / assignment / 'canvas_import.csv'}); "
            f"similar answer code: {out / assignment / 'similarity.html'} ({len(similar.flagged)} pair(s) flagged; "
            "the examples are edits of one solution); feedback reports:",
            *(f"   {out / assignment / api.intake.student_id(f) / 'feedback.html'}" for f in files)]))

    with concurrent.futures.ThreadPoolExecutor(len(args.assignments)) as pool:
        for future in [pool.submit(grade, a) for a in args.assignments]:
            future.result()
    return 0


class _Prefixed:
    """A text stream that hands each whole line, prefixed, to ``say`` (batches side by side stay legible)."""

    def __init__(self, prefix: str, say) -> None:
        self.prefix, self.say, self.buffer = prefix, say, ""

    def write(self, text: str) -> int:
        self.buffer += text
        *lines, self.buffer = self.buffer.split("\n")
        for line in lines:
            self.say(self.prefix + line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per verb."""
    p = argparse.ArgumentParser(prog="dlgrade", description="Sandboxed autograding for TensorFlow/Keras courses.")
    p.add_argument("--root", type=Path, help="the course folder (default: the nearest one with assignments/)")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="make the student notebook and the grader's bundle")
    b.add_argument("assignment")
    b.add_argument("--check", action="store_true", help="exit 1 if student_template/ is not what a build makes")
    b.set_defaults(func=cmd_build)

    h = sub.add_parser("handout", help="zip the student notebook and the data files it reads, for students")
    h.add_argument("assignment")
    h.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="the zip to write, or a folder for it (default: ./ASSIGNMENT-handout.zip)")
    h.set_defaults(func=cmd_handout)

    e = sub.add_parser("export", help="write an assignment's autograder for another platform (Gradescope)")
    e.add_argument("platform", choices=["gradescope"], help="where the autograder runs")
    e.add_argument("assignment")
    e.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="the zip to write, or a folder for it (default: ./ASSIGNMENT-gradescope.zip)")
    e.set_defaults(func=cmd_export)

    g = sub.add_parser(
        "grade", help="grade submissions (.ipynb or grader.export() zips, or folders of them)",
        usage="dlgrade grade ASSIGNMENT SUBMISSION... -o OUT [options]\n"
              "       dlgrade grade --otter-zip AG.zip SUBMISSION... -o OUT [options]")
    g.add_argument("items", nargs="+", metavar="ASSIGNMENT SUBMISSION",
                   help="the assignment id (or a built bundle folder), then files or folders of submissions")
    g.add_argument("-o", "--output", type=Path, required=True, help="results folder")
    g.add_argument("--student", help="the student id (default: the file name's stem)")
    g.add_argument("--no-sandbox", action="store_true", help="grade without bubblewrap (unsafe; recorded in results)")
    g.add_argument("--workers", type=int, help="graders in parallel (default: what cores and memory allow)")
    g.add_argument("--scheduler", metavar="tcp://HOST:8786", help="grade on this Dask cluster instead of here")
    g.add_argument("--force", action="store_true", help="grade again even what is already graded and unchanged")
    g.add_argument("--regrade", action="append", metavar="STUDENT",
                   help="grade this student's submission again even if unchanged (repeatable)")
    g.add_argument("--keep-stale", action="store_true",
                   help="keep results graded with an older build of the assignment (its hidden tests or spec "
                        "changed since), marked stale, instead of grading them again")
    g.add_argument("--roster", type=Path, metavar="CSV",
                   help="class list (student_id, name, canvas_id, login, submitted_at, due or extension_days, ...) "
                        "or a Canvas gradebook export: maps LMS file names to students and gives submission times and "
                        "extensions for late penalties")
    g.add_argument("--canvas-column", metavar="'A1 (1234)'",
                   help="the assignment's column in canvas_import.csv, as Canvas names it (default: the assignment id)")
    g.add_argument("--calibration-from", type=Path, metavar="OUT",
                   help="judge against the reference figures another results folder measured (same machine)")
    g.add_argument("--quiet", action="store_true", help="no progress and no summary; the exit code tells")
    g.add_argument("--otter-zip", type=Path, metavar="AG.zip",
                   help="grade a plain Otter assignment: its autograder zip, run by Otter's own runner in our sandbox")
    g.add_argument("--timeout", type=float, default=600.0,
                   help="with --otter-zip: seconds each submission may run (default 600)")
    g.add_argument("--cell-timeout", type=float, metavar="SECONDS",
                   help="with --otter-zip: seconds each of a notebook's cells may run before it is interrupted and "
                        "the rest graded (default: 120 or half of --timeout, whichever is less)")
    g.add_argument("--notebook-name", metavar="HW.ipynb",
                   help="with --otter-zip: the assignment notebook's file name, where neither the zip's name "
                        "(otter assign's) nor each submission's otter.Notebook(\"...\") call says it")
    g.set_defaults(func=cmd_grade)

    r = sub.add_parser("report", help="rebuild feedback, results.json, gradebook.csv and summary.html from the store")
    r.add_argument("output", type=Path, help="a results folder that `dlgrade grade -o` wrote")
    r.set_defaults(func=cmd_report)

    o = sub.add_parser("override", help="set a student's score for a question or test by hand, and say why",
                       usage="dlgrade override OUT STUDENT q3[/TEST] --score POINTS --comment WHY [--by NAME]\n"
                             "       dlgrade override OUT STUDENT q3[/TEST] --clear")
    o.add_argument("output", type=Path, metavar="OUT", help="a results folder that `dlgrade grade -o` wrote")
    o.add_argument("student", help="the student id, as in gradebook.csv")
    o.add_argument("target", metavar="QUESTION[/TEST]",
                   help="a question (q3) or one of its hidden tests (q3/test_name)")
    o.add_argument("--score", type=float, metavar="POINTS", help="the points to give, from 0 to what it is worth")
    o.add_argument("--comment", metavar="WHY", help="why (the student sees it in the feedback)")
    o.add_argument("--by", metavar="NAME", help="who sets it (default: $DLGRADE_TA, else the login name)")
    o.add_argument("--clear", action="store_true", help="take the override back: the automatic score counts again")
    o.set_defaults(func=cmd_override)

    ov = sub.add_parser("overrides", help="list every score set by hand in a results folder")
    ov.add_argument("output", type=Path, metavar="OUT")
    ov.set_defaults(func=cmd_overrides)

    sm = sub.add_parser("similarity", help="find pairs of submissions whose answer code is alike (a page for TAs)")
    sm.add_argument("output", type=Path, metavar="OUT", help="a results folder that `dlgrade grade -o` wrote")
    sm.add_argument("--template", type=Path, metavar="NB",
                    help="the notebook students were handed, whose code is subtracted "
                         "(default: the course's student_template/<assignment>/)")
    sm.add_argument("--threshold", type=float, metavar="FRACTION",
                    help="flag pairs at or above this similarity, 0 to 1 (default: the spec's similarity.threshold, "
                         "else 0.5)")
    sm.add_argument("--noise", type=int, metavar="CHARS",
                    help="the shortest match that counts, in characters of normalised code (default: the spec's, "
                         "else 15)")
    sm.set_defaults(func=cmd_similarity)

    c = sub.add_parser("check", help="run a notebook's public tests from a terminal")
    c.add_argument("assignment")
    c.add_argument("notebook", type=Path)
    c.set_defaults(func=cmd_check)

    d = sub.add_parser("demo", help="build, grade the example submissions, write reports")
    d.add_argument("-o", "--output", type=Path, default=Path("demo-results"))
    d.add_argument("--assignments", nargs="+", default=["a1", "a2", "a3"])
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; dlgrade's own errors print one line and exit 2 (3 for the store), never a traceback."""
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except StoreError as e:
        print(f"dlgrade: error: {e}", file=sys.stderr)
        return 3
    except DlgradeError as e:
        print(f"dlgrade: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlgrade: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

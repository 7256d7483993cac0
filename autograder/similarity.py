"""Answer code that is suspiciously alike across a class: a page for a TA to look at, never a score.

Each student's code cells, from the notebook as graded (``OUT/<student>/executed.ipynb``),
are fingerprinted the way MOSS does: the code is tokenised and normalised (every
name becomes ``V``, ``F`` or ``O``, every string ``S``, comments and spaces go, so
renaming changes nothing), and its k-grams hashed and winnowed (Schleimer, Wilkerson
and Aiken, "Winnowing: local algorithms for document fingerprinting", SIGMOD 2003).
copydetect does this; it was chosen over pycode_similar (which compares the ASTs of
whole functions) because it subtracts boilerplate, matches across cells and tells
where each match lies, for the side-by-side view. Two kinds of code are boilerplate,
subtracted before comparing: the student template's (what every student was given)
and any fragment found in more than half of the class (what the instructions all but
dictate, e.g. one ``compile`` line). A pair's similarity is the larger of the two
shares: how much of one student's remaining code is found in the other's.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap
from markupsafe import Markup

from autograder import build as build_mod
from autograder import spec as spec_mod
from autograder.errors import BuildError, UsageError
from autograder.reports.pages import render_page
from autograder.results import ResultStatus, write_json
from autograder.store import Store

#: Lines of unmatched code shown around each match on the page.
CONTEXT_LINES = 6
#: A pair is flagged only where the code in common is at least this many times the noise: a share of a
#: near-empty notebook is no evidence.
MIN_MATCHES = 3


@dataclasses.dataclass
class Pair:
    """Two students' answer code compared: each one's share found in the other's (0 to 1)."""

    a: str
    b: str
    share_a: float
    share_b: float
    overlap: int  # characters of normalised code the two have in common
    flagged: bool = False  # at or above the threshold, on a match of at least MIN_MATCHES times the noise
    rank: int = 0  # from 1, by similarity
    code_a: Markup = Markup("")  # each student's code, the matches marked, escaped
    code_b: Markup = Markup("")

    @property
    def similarity(self) -> float:
        return max(self.share_a, self.share_b)


@dataclasses.dataclass
class SimilarityReport:
    """Every pair of the class by similarity, the threshold that flags one, and who could not be compared."""

    pairs: list[Pair]
    threshold: float
    noise: int
    template: str
    compared: list[str]
    not_compared: list[tuple[str, str]]  # (student, why)

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]


def answer_code(notebook: Path) -> str:
    """A notebook's code cells as one Python text, each headed by a comment naming its cell (from 1).

    IPython's own lines (``%magic``, ``!shell``) are left out: they are not Python.
    Raises ``UsageError`` for a file that is not a notebook.
    """
    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception as e:  # nbformat raises what json and its validator raise
        raise UsageError(f"{notebook}: not a notebook this can read ({e})") from None
    parts = []
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        lines = [line for line in str(cell.get("source", "")).splitlines() if not line.lstrip().startswith(("%", "!"))]
        parts.append(f"# cell {i + 1}\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _fingerprint(name: str, code: str, noise: int, boilerplate: np.ndarray | None = None) -> CodeFingerprint:
    # win_size=1 keeps every k-gram: classes are small enough, and no match shorter than a window is lost.
    return CodeFingerprint(f"{name}.py", k=noise, win_size=1, boilerplate=boilerplate, fp=io.StringIO(code))


def compare(codes: dict[str, str], template: str, threshold: float = 0.5, noise: int = 15) -> SimilarityReport:
    """Every pair of ``codes`` (student -> answer code) compared, ``template``'s lines and code and the class's
    common fragments subtracted; pairs by similarity, highest first. ``threshold`` (0 to 1) flags a pair whose
    code in common is at least ``MIN_MATCHES`` times the noise; ``noise``
    is the shortest match that counts, in characters of normalised code. Raises ``UsageError`` for either out
    of its range (0 to 1; 5 to 500)."""
    if not 0 < threshold <= 1:
        raise UsageError(f"threshold {threshold}: give a fraction above 0, at most 1")
    if not 5 <= noise <= 500:
        raise UsageError(f"noise {noise}: give the shortest match that counts, 5 to 500 characters")
    given = {line.strip() for line in template.splitlines() if line.strip()}
    codes = {name: _without(code, given) for name, code in codes.items()}
    everyone = {name: _fingerprint(name, code, noise) for name, code in codes.items()}
    seen = Counter(h for fp in everyone.values() for h in fp.hashes)
    common = {h for h, n in seen.items() if n > max(2, len(codes) // 2)}
    boilerplate = np.unique(np.array([*_fingerprint("template", template, noise).hashes, *common], dtype=np.int64))
    prints = {name: _fingerprint(name, code, noise, boilerplate) for name, code in codes.items()}
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        overlap, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[a], prints[b])
        pair = Pair(a, b, float(share_a), float(share_b), int(overlap))
        pair.flagged = pair.similarity >= threshold and pair.overlap >= MIN_MATCHES * noise
        if pair.flagged:  # shown side by side on the page
            pair.code_a = _marked(codes[a], slices_a)
            pair.code_b = _marked(codes[b], slices_b)
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.similarity, -p.overlap, p.a, p.b))
    for rank, pair in enumerate(pairs, 1):
        pair.rank = rank
    return SimilarityReport(pairs, threshold, noise, "", sorted(codes), [])


def _without(code: str, given: set[str]) -> str:
    """``code`` without the lines the template holds (as they stand there, spaces aside): what the student wrote.

    The template's fingerprints are subtracted too, but a match may run from a student's line into the
    template's next one; without those lines no match can.
    """
    return "\n".join(line for line in code.splitlines() if line.strip() not in given) + "\n"


def _marked(code: str, slices: np.ndarray) -> Markup:
    """``code`` escaped, each matched stretch in ``<mark>``, far from any match cut to ``…``."""
    text, _ = highlight_overlap(code, slices, "<mark>", "</mark>", truncate=CONTEXT_LINES, escape_html=True)
    return Markup(text)  # noqa: S704 - highlight_overlap escaped every stretch of the code with markupsafe


def _template_and_policy(results_assignment: str, template: Path | None,
                         root: Path | None) -> tuple[Path, spec_mod.SimilarityPolicy]:
    """The student template to subtract and the spec's similarity policy (its defaults without a spec)."""
    try:
        course: Path | None = root or build_mod.find_root()
    except BuildError:
        course = None
    spec_file = course / "assignments" / results_assignment / "assignment.yaml" if course else None
    if spec_file is None or not spec_file.exists():
        if template is None:
            raise UsageError(f"cannot find assignment {results_assignment}'s spec and student template (no "
                             f"{spec_file or 'course folder here'}); give --template with the notebook students "
                             "were handed") from None
        return template, spec_mod.SimilarityPolicy()
    spec = spec_mod.load(spec_file)  # a bad similarity key is named by its file and key
    policy = spec.similarity
    default = spec_file.parents[2] / "student_template" / results_assignment / spec.notebook
    chosen = template or default
    if not chosen.exists():
        raise UsageError(f"{chosen}: no student template there; run `dlgrade build {results_assignment}` or give "
                         "--template")
    return chosen, policy


def similarity(out: Path, template: Path | None = None, threshold: float | None = None, noise: int | None = None,
               root: Path | None = None) -> tuple[SimilarityReport, Path]:
    """Compare the answer code of every graded student in ``out``; write ``similarity.html`` and
    ``similarity.json`` there. Returns the report and the page's path.

    ``template``: the notebook students were handed (default: the course's
    ``student_template/<id>/``); ``threshold`` and ``noise`` default to the spec's
    ``similarity`` key. Scores are never changed. Raises ``UsageError`` for a
    folder without a store or a template that cannot be found.
    """
    with Store.of_results(out) as store:
        results = store.results(overridden=False)
    if not results:
        raise UsageError(f"{out}: no results to compare")
    chosen, policy = _template_and_policy(results[0].assignment, template, root)
    codes: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for r in results:
        executed = Path(out) / r.student / "executed.ipynb"
        if r.status == ResultStatus.REJECTED or not executed.exists():
            missing.append((r.student, f"not graded ({r.status}): no notebook to compare"))
        else:
            codes[r.student] = answer_code(executed)
    report = compare(codes, answer_code(chosen), threshold if threshold is not None else policy.threshold,
                     noise if noise is not None else policy.noise)
    report.template, report.not_compared = str(chosen), missing
    page = Path(out) / "similarity.html"
    tmp = page.with_name(f".{page.name}.tmp")
    tmp.write_text(render_page("similarity.html.j2", report=report, assignment=results[0].assignment,
                               min_matches=MIN_MATCHES),
                   encoding="utf-8")
    tmp.replace(page)
    write_json(Path(out) / "similarity.json", {
        "threshold": report.threshold, "noise": report.noise, "template": report.template,
        "not_compared": dict(report.not_compared),
        "pairs": [{"a": p.a, "b": p.b, "similarity": round(p.similarity, 4), "share_a": round(p.share_a, 4),
                   "share_b": round(p.share_b, 4), "overlap": p.overlap, "flagged": p.flagged}
                  for p in report.pairs]})
    return report, page

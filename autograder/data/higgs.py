"""HIGGS (Baldi, Sadowski and Whiteson, Nature Communications 5, 2014): the real file, streamed, and a stand-in.

The UCI file ``HIGGS.csv.gz`` (2.6 GB, 11 million rows) has no header; each
row is the label (1 signal, 0 background) then 28 features: 21 low-level
kinematic ones measured by the detector and 7 high-level invariant masses
physicists derive from them.

- ``iter_higgs`` reads it (gzip or plain, told apart by content, not by name)
  in chunks of NumPy arrays, so the file never has to fit in memory, and says
  exactly which line is wrong when one is.
- ``load_higgs`` wraps that as a ``tf.data`` pipeline.
- ``synthetic_higgs`` / ``write_synthetic_higgs`` make data in the same layout
  offline: signal events carry resonances in the mass features, background
  events fall smoothly, and the low-level features separate the two far less
  than the high-level ones, as in the paper. A network that can carve out a
  mass window reaches a clearly better AUC than one that cannot.
"""

from __future__ import annotations

import gzip
import io
import itertools
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from autograder.data import DataUnavailable
from autograder.errors import HiggsFormatError

LOW_LEVEL = (
    "lepton_pT", "lepton_eta", "lepton_phi", "missing_energy_magnitude", "missing_energy_phi",
    *(f"jet{j}_{v}" for j in range(1, 5) for v in ("pt", "eta", "phi", "b-tag")),
)
HIGH_LEVEL = ("m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb")
FEATURES = LOW_LEVEL + HIGH_LEVEL
COLUMNS = ("label",) + FEATURES
FEATURE_SETS = {"all": FEATURES, "low": LOW_LEVEL, "high": HIGH_LEVEL}

WHERE_TO_GET = ("the UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/280/higgs "
                "(HIGGS.csv.gz, 2.6 GB); or make a stand-in with "
                "autograder.data.higgs.write_synthetic_higgs(path, n_rows)")


# -- reading --------------------------------------------------------------------


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="ascii", errors="strict", newline="")


def _columns(features: str | tuple[str, ...] | list[str]) -> list[int]:
    names = FEATURE_SETS.get(features) if isinstance(features, str) else tuple(features)
    if names is None:
        raise ValueError(f"features={features!r}: expected one of {sorted(FEATURE_SETS)} or a list of column names")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"features: unknown column(s) {unknown}; the HIGGS columns are {list(FEATURES)}")
    return [COLUMNS.index(n) for n in names]


def iter_higgs(path: Path | str, n_rows: int | None = None, features="all",
               chunk_rows: int = 50_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(x, y)`` chunks of at most ``chunk_rows`` rows: x float32 (rows, features), y float32 (rows,).

    Reads the first ``n_rows`` rows (all if None). Raises ``DataUnavailable``
    if the file is not there and ``HiggsFormatError`` for a malformed row or a
    truncated file, naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataUnavailable(f"{path}: no such file. Get HIGGS from {WHERE_TO_GET}")
    if n_rows is not None and n_rows < 1:
        raise ValueError(f"n_rows={n_rows}: expected a positive number of rows or None for all")
    columns = _columns(features)
    done = 0
    with _open_text(path) as f:
        while n_rows is None or done < n_rows:
            want = chunk_rows if n_rows is None else min(chunk_rows, n_rows - done)
            try:
                lines = list(itertools.islice(f, want))
            except (EOFError, zlib.error, gzip.BadGzipFile) as e:
                raise HiggsFormatError(
                    f"{path}: the gzip data is cut off or damaged after line {done} ({e}); a truncated download? "
                    f"The full HIGGS.csv.gz is 2.6 GB; get it again from {WHERE_TO_GET}") from None
            except UnicodeDecodeError as e:
                byte = e.object[e.start:e.start + 1]
                raise HiggsFormatError(f"{path}: not a text CSV after line {done} (byte {byte!r}); "
                                       "HIGGS rows are numbers separated by commas") from None
            if not lines:
                break
            table = _parse(lines, path, done)
            done += len(lines)
            yield table[:, columns], table[:, 0]
    if done == 0:
        raise HiggsFormatError(f"{path}: the file is empty; expected rows of {len(COLUMNS)} numbers")


def _parse(lines: list[str], path: Path, first: int) -> np.ndarray:
    try:
        table = np.loadtxt(lines, delimiter=",", dtype=np.float32, ndmin=2)
        if table.shape[1] == len(COLUMNS) and np.isin(table[:, 0], (0.0, 1.0)).all():
            return table
    except ValueError:
        pass
    # Slow path, only to say which line is wrong and how.
    for i, line in enumerate(lines):
        number = first + i + 1
        fields = line.rstrip("\r\n").split(",")
        cut = "" if line.endswith("\n") else " (the last line has no line end: is the file cut off?)"
        if len(fields) != len(COLUMNS):
            raise HiggsFormatError(
                f"{path}: line {number}: expected {len(COLUMNS)} comma-separated numbers (the label, then 28 "
                f"features), found {len(fields)}{cut}: {line[:80]!r}")
        for name, field in zip(COLUMNS, fields, strict=True):
            try:
                value = float(field)
            except ValueError:
                raise HiggsFormatError(f"{path}: line {number}: column {name!r} is {field[:30]!r}, not a number"
                                       f"{cut}") from None
            if name == "label" and value not in (0.0, 1.0):
                raise HiggsFormatError(f"{path}: line {number}: the label (first column) is {field!r}; expected 1 "
                                       f"(signal) or 0 (background)")
    raise HiggsFormatError(f"{path}: lines {first + 1}-{first + len(lines)} could not be read as HIGGS rows")


def load_higgs(path: Path | str, n_rows: int | None = None, batch_size: int | None = None, features="all",
               chunk_rows: int = 50_000):
    """The file as a ``tf.data.Dataset`` of ``(features, label)``, read as it is consumed.

    One element per row (float32 vectors and scalar labels), or batches of
    ``batch_size``. The first chunk is read at once, so a missing or wrong
    file fails here rather than in the middle of ``fit``; a bad row further
    on fails when it is reached, naming its line.
    """
    import tensorflow as tf

    n_features = len(_columns(features))
    next(iter_higgs(path, n_rows=min(n_rows or 10, 10), features=features))

    def chunks():
        yield from iter_higgs(path, n_rows, features, chunk_rows)

    ds = tf.data.Dataset.from_generator(chunks, output_signature=(
        tf.TensorSpec((None, n_features), tf.float32), tf.TensorSpec((None,), tf.float32)))
    ds = ds.unbatch()
    if batch_size:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)


# -- a stand-in -----------------------------------------------------------------


def synthetic_higgs(n_rows: int, seed: int = 0, signal_fraction: float = 0.53) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: ``n_rows`` events in the HIGGS layout (x float32 (n, 28), y float32 (n,)).

    Scales follow the real file (momenta and masses near 1, eta in +-2.5, phi
    in +-1.74, b-tags 0 / 1.09 / 2.17). Signal: a heavy Higgs decaying through
    W bosons to b quarks, so m_jj and m_jjj peak near the W and top masses,
    m_bb near the light Higgs and m_wwbb at the heavy resonance; background
    (top pairs) has the W peaks in m_lv and m_jlv too, and falls smoothly
    elsewhere. Low-level features differ only slightly between the classes.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows={n_rows}: expected at least 1")
    rng = np.random.default_rng(seed)
    y = (rng.random(n_rows) < signal_fraction).astype(np.float32)
    s = y.astype(bool)
    n = n_rows

    def lognormal(mu_bg, mu_sig, sigma):
        return rng.lognormal(np.where(s, mu_sig, mu_bg), sigma)

    def eta(width_bg, width_sig):
        return np.clip(rng.normal(0.0, np.where(s, width_sig, width_bg)), -2.5, 2.5)

    def phi():
        return rng.uniform(-1.74, 1.74, n)

    def btag(p_bg, p_sig):
        tagged = rng.random(n) < np.where(s, p_sig, p_bg)
        return np.where(tagged, rng.choice([1.0865, 2.1731], n, p=[0.4, 0.6]), 0.0)

    low = [lognormal(-0.15, -0.05, 0.5), eta(1.05, 0.95), phi(), lognormal(-0.1, 0.0, 0.55), phi()]
    for rank in range(4):
        low += [lognormal(-0.1 - 0.25 * rank, -0.05 - 0.25 * rank, 0.45), eta(1.0, 0.95), phi(),
                btag(0.38, 0.48)]

    def mass(peak, width, sig_in_peak, bg_in_peak, bg_mu=0.15, bg_sigma=0.6):
        in_peak = rng.random(n) < np.where(s, sig_in_peak, bg_in_peak)
        peaked = rng.normal(peak, width, n)
        smooth = rng.lognormal(bg_mu, bg_sigma, n)
        return np.abs(np.where(in_peak, peaked, smooth))

    high = [
        mass(1.00, 0.12, 0.65, 0.25),  # m_jj: the hadronic W
        mass(1.03, 0.12, 0.65, 0.28),  # m_jjj: the top
        mass(0.99, 0.08, 0.85, 0.85),  # m_lv: the leptonic W, in both
        mass(1.02, 0.10, 0.75, 0.72),  # m_jlv: the leptonic top, in both
        mass(0.95, 0.12, 0.75, 0.10),  # m_bb: the light Higgs
        mass(1.00, 0.12, 0.70, 0.15),  # m_wbb
        mass(0.88, 0.10, 0.75, 0.08),  # m_wwbb: the heavy Higgs
    ]
    x = np.stack(low + high, axis=1).astype(np.float32)
    return x, y


def write_synthetic_higgs(path: Path | str, n_rows: int, seed: int = 0, chunk_rows: int = 100_000) -> Path:
    """Write ``n_rows`` synthetic events to ``path`` in HIGGS.csv's layout; gzip if it ends in ``.gz``.

    The same arguments always give the same bytes (the gzip header carries no
    time), so generated files can be compared and cached.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        # No name and no time in the gzip header: the bytes depend on the arguments alone.
        f = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if path.suffix == ".gz" else raw
        for start in range(0, n_rows, chunk_rows):
            x, y = synthetic_higgs(min(chunk_rows, n_rows - start), seed=seed * 1_000_003 + start // chunk_rows)
            table = np.column_stack([y, x])
            buf = io.StringIO()
            np.savetxt(buf, table, fmt=["%.1f"] + ["%.7g"] * x.shape[1], delimiter=",")
            f.write(buf.getvalue().encode("ascii"))
        if f is not raw:
            f.close()
    return path

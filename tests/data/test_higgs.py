"""HIGGS: the real layout read in chunks with clear errors, a tf.data pipeline, and the stand-in's structure."""

import gzip

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from autograder.data.higgs import (
    COLUMNS,
    FEATURES,
    HIGH_LEVEL,
    LOW_LEVEL,
    iter_higgs,
    load_higgs,
    synthetic_higgs,
    write_synthetic_higgs,
)
from autograder.errors import DataUnavailable, HiggsFormatError


def _rows(path, n, seed=0):
    write_synthetic_higgs(path, n, seed=seed)
    return path


def test_the_loaders_are_autograder_data_api():
    from autograder import data
    from autograder.data import higgs

    assert data.load_higgs is higgs.load_higgs and data.iter_higgs is higgs.iter_higgs


def test_layout_is_the_uci_files():
    assert len(COLUMNS) == 29 and COLUMNS[0] == "label"
    assert len(LOW_LEVEL) == 21 and len(HIGH_LEVEL) == 7 and FEATURES == LOW_LEVEL + HIGH_LEVEL
    assert LOW_LEVEL[:5] == ("lepton_pT", "lepton_eta", "lepton_phi", "missing_energy_magnitude",
                             "missing_energy_phi")
    assert HIGH_LEVEL == ("m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb")


@pytest.mark.parametrize("name", ["higgs.csv.gz", "higgs.csv"])
def test_gz_and_plain_files_read_the_same_in_chunks(tmp_path, name):
    path = _rows(tmp_path / name, 2500, seed=3)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    chunks = list(iter_higgs(path, chunk_rows=1000))
    assert [len(c[1]) for c in chunks] == [1000, 1000, 500]
    x = np.concatenate([c[0] for c in chunks])
    y = np.concatenate([c[1] for c in chunks])
    want_x, want_y = synthetic_higgs(2500, seed=3 * 1_000_003)
    assert x.dtype == np.float32 and x.shape == (2500, 28)
    assert np.array_equal(y, want_y) and np.allclose(x, want_x, rtol=1e-6)


def test_n_rows_and_feature_subsets(tmp_path):
    path = _rows(tmp_path / "h.csv.gz", 300)
    (x, y), = list(iter_higgs(path, n_rows=120, features="high"))
    assert x.shape == (120, 7) and y.shape == (120,)
    (x2, _), = list(iter_higgs(path, n_rows=120, features=["m_bb", "lepton_pT"]))
    (full, _), = list(iter_higgs(path, n_rows=120))
    assert np.array_equal(x2, full[:, [FEATURES.index("m_bb"), FEATURES.index("lepton_pT")]])
    with pytest.raises(ValueError, match="unknown column"):
        next(iter_higgs(path, features=["m_higgs"]))


def test_the_same_arguments_write_the_same_bytes(tmp_path):
    a, b = _rows(tmp_path / "a.csv.gz", 500, seed=1), _rows(tmp_path / "b.csv.gz", 500, seed=1)
    assert a.read_bytes() == b.read_bytes()
    assert _rows(tmp_path / "c.csv.gz", 500, seed=2).read_bytes() != a.read_bytes()


def test_a_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(DataUnavailable, match="archive.ics.uci.edu"):
        next(iter_higgs(tmp_path / "HIGGS.csv.gz"))
    with pytest.raises(DataUnavailable, match="HIGGS.csv.gz: no such file"):
        load_higgs(tmp_path / "HIGGS.csv.gz")


def test_a_truncated_gzip_names_where_it_stops(tmp_path):
    path = _rows(tmp_path / "HIGGS.csv.gz", 20000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(HiggsFormatError, match=r"HIGGS.csv.gz: the gzip data is cut off.*truncated download"):
        for _ in iter_higgs(path, chunk_rows=1000):
            pass


def test_a_truncated_plain_file_and_malformed_rows_name_their_line(tmp_path):
    path = _rows(tmp_path / "h.csv", 50)
    lines = path.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.csv"
    cut.write_text("".join(lines[:-1]) + lines[-1][:40])
    with pytest.raises(HiggsFormatError, match=r"cut.csv: line 50: expected 29 .*found \d+ \(the last line has no "
                                                r"line end: is the file cut off\?\)"):
        list(iter_higgs(cut))
    bad = tmp_path / "bad.csv"
    fields = lines[6].split(",")
    fields[3] = "nan?"
    bad.write_text("".join(lines[:6]) + ",".join(fields) + "".join(lines[7:]))
    with pytest.raises(HiggsFormatError, match=r"bad.csv: line 7: column 'lepton_phi' is 'nan\?', not a number"):
        list(iter_higgs(bad))
    label = tmp_path / "label.csv"
    label.write_text("".join(lines[:2]) + "2" + lines[2][3:] + "".join(lines[3:]))
    with pytest.raises(HiggsFormatError, match=r"line 3: the label .* expected 1 \(signal\) or 0"):
        list(iter_higgs(label))
    header = tmp_path / "header.csv"
    header.write_text(",".join(COLUMNS) + "\n" + "".join(lines))
    with pytest.raises(HiggsFormatError, match=r"line 1: column 'label' is 'label', not a number"):
        list(iter_higgs(header))
    empty = tmp_path / "empty.csv.gz"
    with gzip.open(empty, "wb"):
        pass
    with pytest.raises(HiggsFormatError, match="empty"):
        list(iter_higgs(empty))


def test_load_higgs_is_a_tf_data_pipeline_that_fails_early_on_a_bad_file(tmp_path):
    import tensorflow as tf

    path = _rows(tmp_path / "h.csv.gz", 700)
    ds = load_higgs(path, n_rows=650, batch_size=256)
    assert isinstance(ds, tf.data.Dataset)
    batches = [(x.numpy(), y.numpy()) for x, y in ds]
    assert [len(b[1]) for b in batches] == [256, 256, 138] and batches[0][0].shape == (256, 28)
    bad = tmp_path / "bad.csv"
    bad.write_text("1.0,2.0,3.0\n")
    with pytest.raises(HiggsFormatError, match="line 1: expected 29"):
        load_higgs(bad)


def test_the_stand_in_has_the_papers_structure():
    """High-level masses separate far better than low-level kinematics; mass peaks need a non-linear model."""
    x, y = synthetic_higgs(30000, seed=11)
    assert 0.45 < y.mean() < 0.6
    assert np.isfinite(x).all() and (x[:, [FEATURES.index(n) for n in HIGH_LEVEL]] >= 0).all()
    train, test = slice(0, 20000), slice(20000, None)

    def auc(columns, features):
        model = LogisticRegression(max_iter=2000).fit(features[train][:, columns], y[train])
        return roc_auc_score(y[test], model.predict_proba(features[test][:, columns])[:, 1])

    low = list(range(21))
    high = list(range(21, 28))
    # Distance from each mass's peak: what a hidden layer can learn, given here by hand.
    peaks = np.array([1.00, 1.03, 0.99, 1.02, 0.95, 1.00, 0.88])
    windows = np.abs(x[:, high] - peaks)
    low_auc, linear_high, window_auc = auc(low, x), auc(high, x), auc(list(range(7)), windows)
    assert 0.52 < low_auc < 0.68, low_auc          # low-level: weak, as in the paper
    assert window_auc > linear_high + 0.05, (window_auc, linear_high)  # a straight cut misses the peaks
    assert window_auc > low_auc + 0.12, (window_auc, low_auc)

"""--vectors: embeddings computed elsewhere, keyed by file name, checked with one-line errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from pixplot.errors import UserError
from pixplot.external_vectors import load_vectors

RELS = ["a/one.jpg", "a/two.jpg", "b/three.jpg", "b/four.jpg"]
NAMES = ["one.jpg", "a/two.jpg", "./b/three.jpg", "ghost.jpg"]
X = np.arange(1, 13, dtype=np.float64).reshape(4, 3)


def write(tmp_path, kind: str, X=X, names=NAMES):
    if kind == "npy":
        np.save(tmp_path / "v.npy", X)
        (tmp_path / "v.txt").write_text("\n".join(names) + "\n")
        return tmp_path / "v.npy"
    if kind == "npz":
        np.savez(tmp_path / "v.npz", vectors=X, filenames=np.array(names))
        return tmp_path / "v.npz"
    if kind == "csv":
        lines = ["filename," + ",".join(f"d{k}" for k in range(X.shape[1]))]
        lines += [f"{n}," + ",".join(str(v) for v in row) for n, row in zip(names, X, strict=True)]
        (tmp_path / "v.csv").write_text("\n".join(lines) + "\n")
        return tmp_path / "v.csv"
    import pyarrow as pa
    import pyarrow.parquet as pq

    if kind == "parquet-list":
        pq.write_table(pa.table({"filename": names, "embedding": [list(r) for r in X]}), tmp_path / "v.parquet")
    else:
        pq.write_table(pa.table({"filename": names, **{f"d{k}": X[:, k] for k in range(X.shape[1])}}),
                       tmp_path / "v.parquet")
    return tmp_path / "v.parquet"


@pytest.mark.parametrize("kind", ["npy", "npz", "csv", "parquet-list", "parquet-columns"])
def test_every_format_gives_the_same_vectors_matched_by_name(tmp_path, kind):
    v = load_vectors(str(write(tmp_path, kind)), RELS)
    assert v.rels == ["a/one.jpg", "a/two.jpg", "b/three.jpg"]
    np.testing.assert_array_equal(v.X, X[:3].astype(np.float32))
    assert v.X.dtype == np.float32 and v.dim == 3
    assert v.match.unmatched_rows == ["ghost.jpg"] and v.match.rowless == ["b/four.jpg"]
    summary = v.match.summary("v")
    assert "1 rows of v match no image (ghost.jpg)" in summary and "1 images have no row in v (b/four.jpg)" in summary


@pytest.mark.parametrize("make,message", [
    (lambda t: write(t, "npy", X=np.ones((4, 3, 2))), "shape (4, 3, 2)"),
    (lambda t: write(t, "npy", X=np.array(["a", "b", "c", "d"])), "not real numbers"),
    (lambda t: write(t, "npy", X=np.vstack([X[:3], [np.nan, 1, 2]])), "row 3 holds NaN"),
    (lambda t: write(t, "npy", X=np.vstack([X[:3], [0, 0, 0]])), "row 3 is all zeros"),
    (lambda t: write(t, "npy", names=NAMES[:3]), "has 4 rows but v.txt lists 3 file names"),
    (lambda t: write(t, "csv", names=["x.jpg", "y.jpg", "z.jpg", "w.jpg"]), "no row names an image"),
])
def test_bad_vectors_are_one_line_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(UserError, match=re.escape(message)) as e:
        load_vectors(str(path), RELS)
    assert str(e.value).startswith(f"--vectors {path}:") and "\n" not in str(e.value)


def test_a_npy_without_its_names_or_an_unknown_type_is_explained(tmp_path):
    np.save(tmp_path / "v.npy", X)
    with pytest.raises(UserError, match="v.txt beside it"):
        load_vectors(str(tmp_path / "v.npy"), RELS)
    (tmp_path / "v.h5").write_bytes(b"x")
    with pytest.raises(UserError, match="unknown file type .h5"):
        load_vectors(str(tmp_path / "v.h5"), RELS)
    with pytest.raises(UserError, match="file not found"):
        load_vectors(str(tmp_path / "nope.npy"), RELS)


def test_unit_rows_are_kept_bit_for_bit_and_others_normalised():
    from pixplot.external_vectors import normalise_rows

    rng = np.random.default_rng(0)
    raw = rng.normal(size=(500, 64)).astype(np.float32)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert np.array_equal(normalise_rows(unit), unit)
    out = normalise_rows(raw * 3)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, rtol=1e-6)


def test_items_without_a_row_are_dropped_with_a_reason(tmp_path):
    from pixplot.external_vectors import vectors_for_items

    v = load_vectors(str(write(tmp_path, "csv")), RELS)
    items = [{"id": str(k), "source": r} for k, r in enumerate(RELS)]
    keep, E, lost = vectors_for_items(v, items)
    assert [it["source"] for it in keep] == RELS[:3] and E.shape == (3, 3)
    assert lost == [("b/four.jpg", "no row in --vectors v.csv")]

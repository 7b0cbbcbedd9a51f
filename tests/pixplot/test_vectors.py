"""The compact vectors a static viewer searches: PCA-64, float16, unit rows, same neighbours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixplot.vectors import agreement, compact, read_vectors, write_vectors


def clustered(n: int = 600, d: int = 256, k: int = 12, seed: int = 0) -> np.ndarray:
    """Clusters in a 40-dimensional subspace plus a little isotropic noise: like learned embeddings,
    most of the variance lies in few directions."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0][: min(40, d)]
    centres = rng.normal(size=(k, len(basis)))
    Z = centres[rng.integers(0, k, n)] + rng.normal(0, 0.6, (n, len(basis)))
    X = Z @ basis + rng.normal(0, 0.05, (n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def test_compact_vectors_are_64_unit_float16_rows_that_keep_the_neighbours(tmp_path: Path) -> None:
    E = clustered()
    entry = write_vectors(tmp_path, E)
    assert entry["file"] == "vectors.f16" and entry["dim"] == 64 and entry["method"] == "pca"
    assert (tmp_path / "vectors.f16").stat().st_size == len(E) * 64 * 2
    V = read_vectors(tmp_path, entry, len(E))
    assert np.allclose(np.linalg.norm(V, axis=1), 1, atol=2e-3)
    assert agreement(E, V) >= 0.8


def test_small_embeddings_are_kept_as_they_are() -> None:
    E = clustered(d=16)
    V, facts = compact(E)
    assert facts == {"method": "none", "dim": 16} and V.dtype == np.float16
    assert np.allclose(V.astype(np.float32), E, atol=2e-3)


@pytest.mark.slow
def test_a_build_writes_the_compact_vectors_the_static_viewer_searches(reference_build) -> None:
    from pixplot.bundle import open_bundle

    _, out = reference_build
    b = open_bundle(out)
    entry = b.manifest["vectors"]
    n = len(b.ids)
    assert entry["file"] == "vectors.f16" and entry["dtype"] == "float16" and entry["dim"] <= 64
    V = read_vectors(b.data, entry, n)
    assert V.shape == (n, entry["dim"]) and np.allclose(np.linalg.norm(V, axis=1), 1, atol=2e-3)
    assert agreement(b.embeddings, V, k=5) >= 0.6

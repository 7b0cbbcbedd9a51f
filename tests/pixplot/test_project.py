from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs

from pixplot.project import TSNEProjector, UMAPProjector, grid_layout, normalize_layout


def _blobs(n=300, d=64, k=4):
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=1.0, random_state=0)
    return X.astype(np.float32), y


def test_umap_is_seeded_normalised_and_keeps_clusters_apart():
    X, y = _blobs()
    a = UMAPProjector(seed=3).project(X)
    b = UMAPProjector(seed=3).project(X)
    assert np.array_equal(a, b)
    assert a.shape == (300, 2) and a.dtype == np.float32
    assert np.isclose(np.abs(a).max(), 1.0, atol=1e-5)
    centres = np.stack([a[y == k].mean(0) for k in range(4)])
    within = max(np.linalg.norm(a[y == k] - centres[k], axis=1).mean() for k in range(4))
    between = min(np.linalg.norm(centres[i] - centres[j]) for i in range(4) for j in range(i + 1, 4))
    assert between > 2 * within


def test_tsne_and_tiny_inputs():
    X, _ = _blobs(n=60)
    P = TSNEProjector(seed=1).project(X)
    assert P.shape == (60, 2) and np.isfinite(P).all()
    assert UMAPProjector().project(X[:3]).shape == (3, 2)
    assert UMAPProjector().project(X[:1]).shape == (1, 2)


def test_grid_gives_every_item_its_own_cell_and_keeps_neighbours():
    rng = np.random.default_rng(0)
    P = np.concatenate([rng.normal(-5, 0.3, (50, 2)), rng.normal(5, 0.3, (50, 2))])
    for exact_limit in (1500, 10):  # optimal assignment, and the sort-based path for big inputs
        G = grid_layout(P, exact_limit=exact_limit)
        assert len({(round(float(x), 4), round(float(y), 4)) for x, y in G}) == 100
        left = G[:50, 0].mean() < G[50:, 0].mean()
        assert left  # the left blob stays left of the right blob


def test_normalize_layout_centres_and_scales():
    P = normalize_layout(np.array([[0, 0], [10, 2], [4, 1]], float))
    assert np.allclose(P.min(0), [-1, -0.2]) and np.allclose(P.max(0), [1, 0.2])

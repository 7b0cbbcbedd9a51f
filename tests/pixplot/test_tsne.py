from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from pixplot.plugins import LayoutContext
from pixplot.project import TSNEProjector, normalize_layout
from pixplot.tsne import _drop_self, tsne_layout


def _blobs(n: int, centers: int = 5):
    X, y = make_blobs(n_samples=n, centers=centers, n_features=40, cluster_std=1.0, random_state=4)
    return X.astype(np.float32), y


def _separated(P: np.ndarray, y: np.ndarray) -> float:
    k = len(np.unique(y))
    return adjusted_rand_score(y, KMeans(k, n_init=4, random_state=0).fit_predict(P))


def test_drop_self_removes_each_row_itself_or_else_the_farthest():
    idx = np.array([[0, 5, 6], [4, 7, 1], [9, 8, 7]])
    dist = np.array([[0.0, 0.1, 0.2], [0.1, 0.2, 0.0], [0.1, 0.2, 0.3]])
    i, d = _drop_self(idx, dist, 2)
    assert i.tolist() == [[5, 6], [4, 7], [9, 8]] and d.tolist() == [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2]]


def test_tsne_separates_clusters_and_the_same_seed_gives_the_same_layout():
    X, y = _blobs(400)
    a = TSNEProjector(seed=3).project(X)
    assert a.shape == (400, 2) and np.isclose(np.abs(a).max(), 1.0, atol=1e-5)
    assert _separated(a, y) > 0.95
    assert np.array_equal(a, TSNEProjector(seed=3).project(X))


def test_above_its_fit_sample_tsne_places_the_rest_with_the_fitted_model_and_reports_it():
    X, y = _blobs(900)
    context = LayoutContext(seed=3)
    P = TSNEProjector(seed=3, tsne_fit_sample=300).project(X, context=context)
    assert P.shape == (900, 2) and np.isfinite(P).all()
    assert _separated(P, y) > 0.95  # the placed points land in their clusters
    fit = context.report["tsne_fit"]
    assert fit["sample"] == 300 and fit["items"] == 900 and "transform" in fit["method"]
    assert "t-SNE fitted on a seeded sample of 300 of 900 items" in context.report["notes"][0]
    raw, _ = tsne_layout(X, seed=3, fit_sample=300)  # a second run: the same seed, the same layout
    assert np.array_equal(normalize_layout(raw), P)

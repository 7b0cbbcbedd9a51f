"""Neighbour search for layouts: exact where small, near-exact and repeatable where large."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.neighbors import NearestNeighbors

from pixplot import knn


def test_exact_search_matches_brute_force_in_umaps_cosine_distance():
    X = np.random.default_rng(0).normal(size=(2_000, 24)).astype(np.float32)
    idx, dist = knn.knn_graph(X, 10, "cosine")
    ref_d, ref_i = NearestNeighbors(n_neighbors=10, metric="cosine", algorithm="brute").fit(X).kneighbors(X)
    assert (idx[:, 0] == np.arange(2_000)).all()  # each point is its own nearest
    assert np.mean(idx == ref_i) > 0.999
    np.testing.assert_allclose(dist, ref_d, atol=1e-5)


def test_euclidean_distances_are_not_squared():
    X = np.array([[0, 0], [3, 4], [6, 8], [0, 1]], np.float32)
    idx, dist = knn.build_index(X, "euclidean").search(X[:1], 3)
    assert idx[0].tolist() == [0, 3, 1]
    np.testing.assert_allclose(dist[0], [0, 1, 5], atol=1e-6)


def test_large_index_finds_nearly_every_true_neighbour_and_repeats_itself():
    # Like real embeddings, the points lie near a low-dimensional manifold of the 32-d space.
    latent, _ = make_blobs(n_samples=knn.EXACT_LIMIT + 10_000, n_features=4, centers=30, random_state=1)
    rng = np.random.default_rng(1)
    X = (latent @ rng.normal(size=(4, 32)) + rng.normal(scale=0.05, size=(len(latent), 32))).astype(np.float32)
    index = knn.build_index(X, "cosine", seed=5)
    assert type(index.index).__name__ == "IndexIVFFlat"
    q = np.arange(0, len(X), 40)
    idx, _ = index.search(X[q], 15)
    ref = NearestNeighbors(n_neighbors=15, metric="cosine", algorithm="brute").fit(X).kneighbors(
        X[q], return_distance=False)
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(idx, ref, strict=True)])
    assert recall > 0.95
    again, _ = knn.build_index(X, "cosine", seed=5).search(X[q], 15)
    assert (again == idx).all()


def test_metrics_faiss_cannot_serve_fall_back_to_umaps_own_search():
    X = np.ones((10, 3), np.float32)
    assert knn.knn_graph(X, 3, "manhattan") is None
    assert not knn.available("correlation") and knn.available("cosine")


@pytest.mark.parametrize("n", [500, 6_000])
def test_umap_layouts_stay_seeded_with_either_neighbour_search(n):
    from pixplot.project import UMAPProjector

    X, _ = make_blobs(n_samples=n, n_features=16, centers=4, random_state=2)
    a = UMAPProjector(seed=7, n_epochs=20).project(X)
    b = UMAPProjector(seed=7, n_epochs=20).project(X)
    assert np.array_equal(a, b)

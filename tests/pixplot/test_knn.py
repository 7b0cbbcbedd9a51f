"""One vector index for layouts, recognition and search: exact where small, near-exact and repeatable
where large, with its recall measured."""

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
    idx, dist = knn.VectorIndex(X, metric="euclidean").neighbours(X[:1], 3)
    assert idx[0].tolist() == [0, 3, 1]
    np.testing.assert_allclose(dist[0], [0, 1, 5], atol=1e-6)


def test_large_index_finds_nearly_every_true_neighbour_and_repeats_itself():
    # Like real embeddings, the points lie near a low-dimensional manifold of the 32-d space.
    latent, _ = make_blobs(n_samples=knn.EXACT_LIMIT + 10_000, n_features=4, centers=30, random_state=1)
    rng = np.random.default_rng(1)
    X = (latent @ rng.normal(size=(4, 32)) + rng.normal(scale=0.05, size=(len(latent), 32))).astype(np.float32)
    index = knn.VectorIndex(X, seed=5)
    assert index.kind == "faiss-ivf" and index.nprobe == knn.NPROBE
    q = np.arange(0, len(X), 40)
    idx, _ = index.neighbours(X[q], 15)
    ref = NearestNeighbors(n_neighbors=15, metric="cosine", algorithm="brute").fit(X).kneighbors(
        X[q], return_distance=False)
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(idx, ref, strict=True)])
    assert recall > 0.95
    again, _ = knn.VectorIndex(X, seed=5).neighbours(X[q], 15)
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


def test_search_returns_the_true_top_k_cosine_similarities_best_first_padded():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 16)).astype(np.float32)
    Q = X[:7] + 0.05 * rng.normal(size=(7, 16)).astype(np.float32)
    hits = knn.VectorIndex(X).search(Q, 4)
    Xn, Qn = knn.normalise(X), knn.normalise(Q)
    want = np.argsort(-(Qn @ Xn.T), axis=1)[:, :4]
    assert (hits.indices == want).all() and hits.indices.dtype == np.int64
    np.testing.assert_allclose(hits.scores, np.take_along_axis(Qn @ Xn.T, want, axis=1), atol=1e-5)
    few = knn.VectorIndex(X[:2]).search(Q[:1], 4)
    assert few.indices.tolist() == [[*np.argsort(-(Qn[:1] @ Xn[:2].T))[0], -1, -1]]
    assert np.isneginf(few.scores[0, 2:]).all()
    empty = knn.VectorIndex(np.zeros((0, 16), np.float32)).search(Q[:2], 3)
    assert (empty.indices == -1).all() and len(knn.VectorIndex(np.zeros((0, 16)))) == 0


def test_euclidean_scores_are_minus_the_distance():
    X = np.array([[0, 0], [3, 4], [6, 8]], np.float32)
    hits = knn.VectorIndex(X, metric="euclidean").search(np.array([[0, 1]], np.float32), 2)
    assert hits.indices[0].tolist() == [0, 1]
    np.testing.assert_allclose(hits.scores[0], [-1, -np.sqrt(18)], atol=1e-5)


def test_approximate_index_takes_over_above_the_limit_and_keeps_recall_high():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(200, 32))
    X = (centres[rng.integers(0, 200, 20_000)] + 0.6 * rng.normal(size=(20_000, 32))).astype(np.float32)
    assert knn.VectorIndex(X[:100], exact_limit=1000).kind == "exact"
    approx = knn.VectorIndex(X, exact_limit=1000, nprobe=64)
    assert approx.kind == "faiss-ivf" and approx.nprobe == 64
    Q = X[rng.choice(len(X), 200, replace=False)] + 0.05 * rng.normal(size=(200, 32)).astype(np.float32)
    exact = knn.VectorIndex(X, kind="exact")
    assert knn.recall_at_k(exact, exact, Q, 10) == 1.0
    r = knn.recall_at_k(approx, exact, Q, 10)
    assert r >= 0.95
    approx.nprobe = 1  # scanning one cell of ~500 is much worse: the recall is measured, not assumed
    assert knn.recall_at_k(approx, exact, Q, 10) < r


def test_unstructured_vectors_get_more_cells_scanned_until_recall_is_met():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5000, 32)).astype(np.float32)  # no clusters: the worst case for IVF
    approx = knn.VectorIndex(X, kind="approx", nprobe=1)
    exact = knn.VectorIndex(X, kind="exact")
    Q = X[:100]
    assert knn.recall_at_k(approx, exact, Q, 10) < 0.9
    assert knn.tune_nprobe(approx, exact, Q, 10, target=0.95) >= 0.95
    assert approx.nprobe > 1

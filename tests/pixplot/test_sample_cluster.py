from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from pixplot.cluster import HDBSCANClusterer
from pixplot.sample_cluster import cluster_on_sample, neighbour_finder, seeded_sample, vote


def test_vote_takes_the_majority_and_breaks_ties_towards_the_nearer_neighbour():
    votes = np.array([[1, 2, 2, 2, 1], [3, 4, 4, 3, -1], [-1, -1, 0, 0, 0], [7, 8, 9, 5, 6]])
    assert vote(votes).tolist() == [2, 3, 0, 7]


def test_seeded_sample_is_the_same_for_the_same_seed_and_sorted():
    a, b = seeded_sample(1000, 100, 5), seeded_sample(1000, 100, 5)
    assert (a == b).all() and (np.diff(a) > 0).all() and len(a) == 100
    assert not (a == seeded_sample(1000, 100, 6)).all()


def test_neighbour_finder_gives_the_exact_nearest_sample_points_in_2d_and_in_64d():
    rng = np.random.default_rng(0)
    for d in (2, 64):
        S = rng.normal(size=(500, d)).astype(np.float32)
        Q = rng.normal(size=(50, d)).astype(np.float32)
        exact = np.argsort(((Q[:, None, :] - S[None, :, :]) ** 2).sum(axis=2), axis=1)[:, :3]
        assert (neighbour_finder(S)(Q, 3) == exact).all()


def test_points_outside_the_sample_join_the_cluster_they_sit_in():
    X, y = make_blobs(n_samples=4000, centers=6, n_features=2, cluster_std=0.5, center_box=(-20, 20),
                      random_state=4)
    labels = cluster_on_sample(X, lambda S: HDBSCANClusterer(min_cluster_size=20).cluster(S), 800, seed=1)
    assert adjusted_rand_score(y, labels) > 0.99


def test_hdbscan_above_its_fit_sample_finds_the_whole_set_clusters():
    # Clusters of unequal size and spread, as a layout has; the whole-set run is the reference.
    X, _ = make_blobs(n_samples=[9000, 5000, 3000, 1500, 800, 400], n_features=2,
                      cluster_std=[1.0, 0.6, 0.5, 0.4, 0.3, 0.2], center_box=(-25, 25), random_state=7)
    whole = HDBSCANClusterer(min_cluster_size=30, fit_sample=0).cluster(X)
    sampled = HDBSCANClusterer(min_cluster_size=30, fit_sample=5000).cluster(X)
    assert adjusted_rand_score(whole, sampled) > 0.95
    assert HDBSCANClusterer(min_cluster_size=30, fit_sample=5000).cluster(X).tolist() == sampled.tolist()


def test_hdbscan_on_sampled_embeddings_uses_the_vector_index():
    X, y = make_blobs(n_samples=6000, centers=5, n_features=32, cluster_std=1.0, random_state=2)
    labels = HDBSCANClusterer(min_cluster_size=25, fit_sample=1500).cluster(X.astype(np.float32))
    assert adjusted_rand_score(y, labels) > 0.95

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from pixplot.cluster import describe_clusters, relabel_by_size
from pixplot.plugins import create


@pytest.mark.parametrize("name,params", [
    ("hdbscan", {"min_cluster_size": 10}),
    ("dbscan", {"eps": 1.5, "min_samples": 5}),
    ("kmeans", {"n_clusters": 3}),
])
def test_each_clusterer_recovers_blobs(name, params):
    X, y = make_blobs(n_samples=[80, 50, 30], n_features=5, cluster_std=0.4, random_state=1)
    labels = create("clusterer", name, **params).cluster(X)
    assert adjusted_rand_score(y, labels) > 0.95


def test_relabel_orders_by_size_and_max_clusters_turns_the_rest_to_noise():
    labels = np.array([5, 5, 2, 2, 2, -1, 7])
    out, dropped = relabel_by_size(labels)
    assert out.tolist() == [1, 1, 0, 0, 0, -1, 2] and dropped == 0
    out, dropped = relabel_by_size(labels, max_clusters=1)
    assert out.tolist() == [-1, -1, 0, 0, 0, -1, -1] and dropped == 2


def test_representative_is_the_most_central_member_and_cohesion_is_mean_cosine():
    E = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1], [-1, 0]], np.float32)
    labels = np.array([0, 0, 0, 0, -1])
    (c,) = describe_clusters(labels, E, ["a", "b", "c", "d", "e"])
    assert c["members"] == ["a", "b", "c", "d"] and c["size"] == 4
    assert c["representative"] in ("b", "c")  # both lie nearest the 45° mean direction
    direction = np.array([1, 1]) / np.sqrt(2)
    assert c["cohesion"] == pytest.approx(float((E[:4] @ direction).mean()), abs=1e-4)

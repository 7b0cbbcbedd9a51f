"""Clusterers, and the per-cluster facts the viewer shows: members, representative, cohesion."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from pixplot.plugins import Clusterer


class HDBSCANClusterer(Clusterer):
    name: ClassVar[str] = "hdbscan"
    version: ClassVar[str] = "1"

    def __init__(self, min_cluster_size: int = 15, min_samples: int | None = None,
                 cluster_selection_epsilon: float = 0.0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon

    def cluster(self, X: np.ndarray) -> np.ndarray:
        import hdbscan

        n = len(X)
        if n < 4:
            return np.full(n, -1, np.int64)
        mcs = max(2, min(self.min_cluster_size, n // 2))
        ms = None if self.min_samples is None else max(1, min(self.min_samples, n - 1))
        model = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms,
                                cluster_selection_epsilon=self.cluster_selection_epsilon,
                                core_dist_n_jobs=1)
        return model.fit_predict(np.asarray(X, dtype=np.float64)).astype(np.int64)


class DBSCANClusterer(Clusterer):
    name: ClassVar[str] = "dbscan"
    version: ClassVar[str] = "1"

    def __init__(self, eps: float = 0.5, min_samples: int = 5, metric: str = "euclidean"):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric

    def cluster(self, X: np.ndarray) -> np.ndarray:
        from sklearn.cluster import DBSCAN

        if len(X) == 0:
            return np.zeros(0, np.int64)
        return DBSCAN(eps=self.eps, min_samples=self.min_samples,
                      metric=self.metric).fit_predict(X).astype(np.int64)


class KMeansClusterer(Clusterer):
    name: ClassVar[str] = "kmeans"
    version: ClassVar[str] = "1"

    def __init__(self, n_clusters: int | None = None, seed: int = 24):
        self.n_clusters = n_clusters
        self.seed = seed

    def cluster(self, X: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans

        n = len(X)
        if n == 0:
            return np.zeros(0, np.int64)
        k = self.n_clusters or max(1, round(math.sqrt(n / 2)))
        k = min(k, n)
        return KMeans(n_clusters=k, n_init=4, random_state=self.seed).fit_predict(X).astype(np.int64)


def relabel_by_size(labels: np.ndarray, max_clusters: int | None = None) -> tuple[np.ndarray, int]:
    """Renumber clusters largest first (ties by first member); keep the ``max_clusters``
    largest, the rest become noise. Returns (labels, number of clusters dropped)."""
    labels = np.asarray(labels, dtype=np.int64)
    ids = [c for c in np.unique(labels) if c >= 0]
    first = {c: int(np.argmax(labels == c)) for c in ids}
    sizes = {c: int((labels == c).sum()) for c in ids}
    order = sorted(ids, key=lambda c: (-sizes[c], first[c]))
    dropped = 0
    if max_clusters is not None and len(order) > max_clusters:
        dropped = len(order) - max_clusters
        order = order[:max_clusters]
    out = np.full(len(labels), -1, np.int64)
    for new, old in enumerate(order):
        out[labels == old] = new
    return out, dropped


def describe_clusters(labels: np.ndarray, embeddings: np.ndarray, ids: list[str]) -> list[dict[str, Any]]:
    """Members, representative (member nearest the mean direction) and cohesion (mean cosine
    similarity of members to that mean) of each cluster, in label order."""
    out = []
    E = np.asarray(embeddings, dtype=np.float32)
    for c in range(int(labels.max()) + 1 if len(labels) else 0):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        members = E[idx]
        mean = members.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        direction = mean / norm if norm > 0 else mean
        sims = members @ direction
        out.append({
            "id": c,
            "size": int(len(idx)),
            "members": [ids[i] for i in idx],
            "representative": ids[int(idx[int(np.argmax(sims))])],
            "cohesion": round(float(sims.mean()), 4),
        })
    return out

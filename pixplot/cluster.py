"""Clusterers, and the per-cluster facts the viewer shows: members, representative, cohesion."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from pixplot.plugins import Clusterer

#: Above this many points HDBSCAN clusters a seeded sample of this size and the other points take
#: their nearest sample points' clusters (:mod:`pixplot.sample_cluster`).
HDBSCAN_FIT_SAMPLE = 200_000


class HDBSCANClusterer(Clusterer):
    """HDBSCAN; above ``fit_sample`` points, on a seeded sample with the rest assigned by their
    nearest sample points (the whole-set run takes minutes per million points on one core).
    With RAPIDS cuML and a GPU (:mod:`pixplot.gpu`), cuML's HDBSCAN on the whole set.
    ``min_cluster_size`` and ``min_samples`` apply to the sample as given: scaled down by the
    sample's share (3 for 15 at 1M) they split the sample into thousands of specks (measured:
    16,195 clusters, ARI 0 at 1M), while as given they found the whole-set clusters (ARI 0.995
    against the whole-set run on 200k layout-like points with a 40k sample). A cluster then needs
    about ``min_cluster_size * n / fit_sample`` items, which at millions is no loss."""

    name: ClassVar[str] = "hdbscan"
    version: ClassVar[str] = "2"

    #: Chosen by oracle actions per item on labelled sets (benchmarks/bench_quality.py, docs/quality.md):
    #: 5 with 'eom' on the UMAP layout needs 0.42 actions per item with efficientnet_lite where the
    #: previous 15 needed 0.71 (small sets; see the doc for what was and was not measured).
    def __init__(self, min_cluster_size: int = 5, min_samples: int | None = None,
                 cluster_selection_epsilon: float = 0.0, fit_sample: int = HDBSCAN_FIT_SAMPLE, seed: int = 24,
                 cluster_selection_method: str = "eom"):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.fit_sample = fit_sample
        self.seed = seed
        #: "eom" (the most persistent clusters: fewer, larger) or "leaf" (the tree's leaves: more,
        #: smaller, purer; docs/quality.md measures which suits annotation).
        self.cluster_selection_method = cluster_selection_method

    @classmethod
    def backend(cls) -> str:
        """Which implementation runs here (``pixplot plugins``)."""
        from pixplot.gpu import backend_note

        return backend_note("hdbscan")

    def cluster(self, X: np.ndarray) -> np.ndarray:
        from pixplot import gpu

        n = len(X)
        if n < 4:
            return np.full(n, -1, np.int64)
        if gpu.use_cuml():  # the whole set: cuML clusters millions of points in seconds
            return gpu.hdbscan_labels(X, min_cluster_size=max(2, min(self.min_cluster_size, n // 2)),
                                      min_samples=self.min_samples,
                                      cluster_selection_epsilon=self.cluster_selection_epsilon)
        if self.fit_sample and n > self.fit_sample:
            from pixplot.sample_cluster import cluster_on_sample

            fit = lambda S: self._fit(S, self.min_cluster_size, self.min_samples)  # noqa: E731
            return cluster_on_sample(X, fit, self.fit_sample, self.seed)
        return self._fit(X, self.min_cluster_size, self.min_samples)

    def _fit(self, X: np.ndarray, min_cluster_size: int, min_samples: int | None) -> np.ndarray:
        import hdbscan

        n = len(X)
        mcs = max(2, min(min_cluster_size, n // 2))
        ms = None if min_samples is None else max(1, min(min_samples, n - 1))
        model = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms,
                                cluster_selection_epsilon=self.cluster_selection_epsilon,
                                cluster_selection_method=self.cluster_selection_method,
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
    # One pass over the labels (not one per cluster): millions of points, thousands of clusters.
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    keep = ids >= 0
    ids, first, sizes = ids[keep], first[keep], sizes[keep]
    order = np.lexsort((first, -sizes))
    dropped = 0
    if max_clusters is not None and len(order) > max_clusters:
        dropped = len(order) - max_clusters
        order = order[:max_clusters]
    if len(ids) == 0:
        return np.full(len(labels), -1, np.int64), dropped
    new_of = np.full(len(ids), -1, np.int64)
    new_of[order] = np.arange(len(order))
    out = np.full(len(labels), -1, np.int64)
    member = labels >= 0
    out[member] = new_of[np.searchsorted(ids, labels[member])]
    return out, dropped


def centroid_similarities(members: np.ndarray) -> np.ndarray:
    """Cosine similarity of each member (a unit row) to the members' mean direction. Its mean is a
    cluster's cohesion (the viewer, `pixplot evaluate`, split sub-groups); its low tail, the
    members that do not belong (outliers)."""
    mean = members.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    direction = mean / norm if norm > 0 else mean
    return members @ direction


def describe_clusters(labels: np.ndarray, embeddings: np.ndarray, ids: list[str]) -> list[dict[str, Any]]:
    """Members, representative (member nearest the mean direction) and cohesion (mean cosine
    similarity of members to that mean) of each cluster, in label order."""
    out = []
    E = np.asarray(embeddings, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    # Members of every cluster from one sort, not one scan of the labels per cluster.
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(int(labels.max()) + 2 if len(labels) else 0))
    for c in range(len(bounds) - 1):
        idx = order[bounds[c]:bounds[c + 1]]
        if len(idx) == 0:
            continue
        sims = centroid_similarities(E[idx])
        out.append({
            "id": c,
            "size": int(len(idx)),
            "members": [ids[i] for i in idx],
            "representative": ids[int(idx[int(np.argmax(sims))])],
            "cohesion": round(float(sims.mean()), 4),
        })
    return out

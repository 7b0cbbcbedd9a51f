"""Clustering for millions: fit on a seeded sample, give every other point its nearest sample
points' cluster.

HDBSCAN's cost grows faster than the collection (1M 2-D layout points: about 3 minutes on one
core; 3M did not finish in 40 minutes), and the multicore ``fast-hdbscan`` measured no better on
two cores (221 s at 1M, plus minutes of numba compilation on first use). A seeded sample keeps
the density structure that HDBSCAN reads, so clustering the sample with its size limits scaled
to the sample, then labelling each other point by a vote of its nearest sample points, gives the
same clusters as the whole-set run (ARI against it in docs/scale.md) in a fraction of the time.
The vote uses :mod:`pixplot.knn` for embeddings (faiss, every core) and a k-d tree for layouts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Sample points each other point asks for its label.
VOTES = 5


def seeded_sample(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted row numbers of a seeded sample of ``size`` of ``n`` rows."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, min(size, n), replace=False))


def neighbour_finder(sample_points: np.ndarray, seed: int = 24) -> Callable[[np.ndarray, int], np.ndarray]:
    """A function giving row numbers (into ``sample_points``) of each query's ``k`` nearest sample
    points, euclidean, nearest first: a k-d tree on every core for layouts (up to 8 dimensions),
    a :class:`pixplot.knn.VectorIndex` above, or the k-d tree again without faiss."""
    if sample_points.shape[1] > 8:
        from pixplot.knn import VectorIndex, available

        if available("euclidean"):
            index = VectorIndex(sample_points, metric="euclidean", seed=seed)
            return lambda Q, k: index.search(Q, k).indices
    from scipy.spatial import cKDTree

    tree = cKDTree(sample_points)

    def query(Q: np.ndarray, k: int) -> np.ndarray:
        k = min(k, len(sample_points))
        return np.asarray(tree.query(Q, k=k, workers=-1)[1], np.int64).reshape(len(Q), k)

    return query


def vote(neighbour_labels: np.ndarray) -> np.ndarray:
    """Per row, the label most of its neighbours carry (noise counts as a label; ties go to the
    nearer neighbour), so a point among noise stays noise and a point on a border joins the
    side it sits in."""
    rows, k = neighbour_labels.shape
    if k == 1:
        return neighbour_labels[:, 0].copy()
    counts = (neighbour_labels[:, :, None] == neighbour_labels[:, None, :]).sum(axis=2)
    # Highest count wins; among equal counts the earliest (nearest) column.
    best = np.argmax(counts * (k + 1) - np.arange(k)[None, :], axis=1)
    return neighbour_labels[np.arange(rows), best]


def cluster_on_sample(X: np.ndarray, fit: Callable[[np.ndarray], np.ndarray], sample_size: int, seed: int,
                      votes: int = VOTES, chunk: int = 200_000) -> np.ndarray:
    """Labels for every row of ``X``: ``fit`` clusters a seeded sample of ``sample_size`` rows,
    every other row takes the vote of its ``votes`` nearest sample rows."""
    X = np.asarray(X)
    n = len(X)
    sample = seeded_sample(n, sample_size, seed)
    S = np.ascontiguousarray(X[sample], dtype=np.float32)
    sample_labels = np.asarray(fit(S), np.int64)
    labels = np.empty(n, np.int64)
    labels[sample] = sample_labels
    rest = np.ones(n, bool)
    rest[sample] = False
    rest_rows = np.flatnonzero(rest)
    find = neighbour_finder(S, seed)
    for i in range(0, len(rest_rows), chunk):
        rows = rest_rows[i:i + chunk]
        idx = find(np.ascontiguousarray(X[rows], dtype=np.float32), votes)
        labels[rows] = vote(sample_labels[idx])
    return labels

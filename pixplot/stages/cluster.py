"""Cluster: the plan's clusterer on the embeddings or on a 2-D layout; clusters numbered largest
first, with members, representative and cohesion (the viewer's cluster list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pixplot.cluster import describe_clusters, relabel_by_size
from pixplot.plan import BuildPlan
from pixplot.project import reduce_dims

#: Embeddings wider than this are reduced with PCA to 50 dimensions before clustering.
COMPACT_DIMS = 128


@dataclass
class Clustered:
    labels: np.ndarray  # (n,) cluster index per item, -1 = noise
    clusters: list[dict[str, Any]]
    dropped: int  # clusters turned to noise by --max_clusters

    @property
    def noise(self) -> int:
        return int((self.labels < 0).sum())


def clustering_input(plan: BuildPlan, layouts: dict[str, np.ndarray], E: np.ndarray) -> np.ndarray:
    if plan.cluster_on != "embedding":
        return layouts[plan.cluster_on]
    # compact descriptors (faces: 128-d) as they are; wide ones through PCA first
    return E if E.shape[1] <= COMPACT_DIMS else reduce_dims(E, 50, plan.options.seed)


def run(plan: BuildPlan, layouts: dict[str, np.ndarray], E: np.ndarray, ids: list[str],
        items: list[dict[str, Any]] | None = None) -> Clustered:
    if plan.options.clusters_from:
        return from_column(plan, E, ids, items or [])
    labels = plan.clusterer.cluster(clustering_input(plan, layouts, E))
    labels, dropped = relabel_by_size(labels, plan.options.max_clusters)
    return Clustered(labels, describe_clusters(labels, E, ids), dropped)


def from_column(plan: BuildPlan, E: np.ndarray, ids: list[str], items: list[dict[str, Any]]) -> Clustered:
    """``--clusters-from COLUMN``: one cluster per value, named by it, largest first."""
    from pixplot.column_clusters import labels_from_column, names_after_relabel

    raw, values = labels_from_column(items, plan.options.clusters_from)
    labels, dropped = relabel_by_size(raw, plan.options.max_clusters)
    names = names_after_relabel(raw, labels, values)
    clusters = describe_clusters(labels, E, ids)
    for c in clusters:
        c["name"] = names.get(int(c["id"]))
    return Clustered(labels, clusters, dropped)

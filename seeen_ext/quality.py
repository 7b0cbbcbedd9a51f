"""Which clustering suits annotation: every clustering choice scored side by side on labelled data.

A mixed cluster costs the annotator one exclusion (picking its intruders out); two pure clusters
of one class cost one extra label. So purity comes first, and the score that settles it is the
number of oracle actions per item (:func:`oracle_actions`; labelling one by one is 1.0).
benchmarks/bench_quality.py runs this over labelled sets to choose the default clustering
(docs/quality.md); ``pixplot evaluate --compare`` runs it on a user's own labelled folder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: name -> (space, clusterer, params). Space: ``umap`` (the 2-D layout) or ``embedding`` (PCA-50
#: when wider than 128-d, as a build does). A k-means ``n_clusters`` below 1 is a share of the items.
CHOICES: dict[str, tuple[str, str, dict[str, Any]]] = {
    f"{space}/hdbscan-{sel}-{mcs}": (space, "hdbscan", {"min_cluster_size": mcs, "cluster_selection_method": sel})
    for space, sizes in (("umap", (5, 10, 15)), ("embedding", (5, 10))) for sel in ("eom", "leaf") for mcs in sizes
}
CHOICES["embedding/kmeans-sqrt(n/2)"] = ("embedding", "kmeans", {})
CHOICES["embedding/kmeans-n/10"] = ("embedding", "kmeans", {"n_clusters": 0.1})
CHOICES["embedding/kmeans-n/20"] = ("embedding", "kmeans", {"n_clusters": 0.05})
CHOICES["umap/kmeans-n/10"] = ("umap", "kmeans", {"n_clusters": 0.1})
#: The default before this was measured: HDBSCAN on the 2-D UMAP, min_cluster_size 15, 'eom'.
PREVIOUS_DEFAULT = "umap/hdbscan-eom-15"


def oracle_actions(pred: Any, truth: Any, E: Any) -> int:
    """Actions an annotator who knows the truth needs, as benchmarks/bench_annotation.py's oracle
    counts them over HTTP, in memory: per cluster one exclude when it has intruders plus one label;
    then every item left (noise and intruders) gets its nearest labelled item's label (cosine; no
    threshold, one round): one action per suggested label accepted, one per wrong suggestion.
    Nothing clustered: one by one."""
    pred, truth = np.asarray(pred), np.asarray(truth).astype(str)
    actions = 0
    known = np.zeros(len(pred), bool)
    for c in np.unique(pred[pred >= 0]):
        members = np.flatnonzero(pred == c)
        labs, counts = np.unique(truth[members], return_counts=True)
        major = labs[np.argmax(counts)]
        actions += 1 + int(counts.max() < len(members))
        known[members[truth[members] == major]] = True
    rest = np.flatnonzero(~known)
    if len(rest) == 0:
        return actions
    if not known.any():
        return actions + len(rest)
    gallery = np.flatnonzero(known)
    X = np.asarray(E, np.float32)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    suggested = truth[gallery[np.argmax(X[rest] @ X[gallery].T, axis=1)]]
    right = suggested == truth[rest]
    return actions + len(set(suggested[right])) + int((~right).sum())


def score_clusterings(E: np.ndarray, truth: Any, umap_xy: np.ndarray | None = None, seed: int = 24,
                      choices: dict[str, tuple[str, str, dict[str, Any]]] | None = None) -> dict[str, dict[str, Any]]:
    """Every clustering choice on ``E`` (n, d) with ``truth`` (n labels): clusters, purity, share
    clustered, ARI (as `pixplot evaluate` scores them), oracle actions per item, and the
    embedding's 5-NN accuracy. ``umap_xy``: the 2-D layout (computed here when not given)."""
    from pixplot.plugins import create
    from pixplot.project import UMAPProjector, reduce_dims
    from seeen_ext.evaluate import clustering_scores, knn_accuracy

    E = np.asarray(E, np.float32)
    E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    truth = np.asarray(truth).astype(str)
    knn5 = knn_accuracy(E, truth, ks=(5,))["knn5"]
    spaces = {"umap": umap_xy if umap_xy is not None else UMAPProjector(seed=seed).project(E),
              "embedding": E if E.shape[1] <= 128 else reduce_dims(E, 50, seed)}
    out = {}
    for cname, (space, method, params) in (choices or CHOICES).items():
        p = dict(params)
        if 0 < p.get("n_clusters", 1) < 1:
            p["n_clusters"] = max(2, round(p["n_clusters"] * len(E)))
        pred = create("clusterer", method, **p, seed=seed).cluster(spaces[space])
        s = clustering_scores(truth, pred)
        out[cname] = {"knn5": round(knn5, 4), "clusters": int(len(set(pred[pred >= 0].tolist()))),
                      "purity": round(s["purity"], 4), "clustered": round(s["fraction_clustered"], 4),
                      "ari": round(s["ari"], 4), "actions": round(oracle_actions(pred, truth, E) / len(truth), 4)}
    return out


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The side-by-side table: one line per (set, embedder, clustering)."""
    head = (f"{'set':8} {'embedder':17} {'clustering':27} {'kNN@5':>6} {'k':>4} {'purity':>6} {'clust':>6} "
            f"{'ARI':>6} {'act/it':>6} {'img/s':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        ips = r.get("images_per_s")
        lines.append(f"{str(r.get('set', '')):8} {r['embedder']:17} {r['clustering']:27} {r['knn5']:6.3f} "
                     f"{r['clusters']:4d} {r['purity']:6.3f} {r['clustered']:6.3f} {r['ari']:6.3f} "
                     f"{r['actions']:6.3f} {'–' if ips is None else format(ips, '.1f'):>7}")
    return "\n".join(lines)

"""`pixplot evaluate`: how clean are a bundle's clusters, and how well does its embedding separate
what we know to be different?

"A good embedding algorithm should produce clean clusters": with ground truth (a CSV, a metadata
column, folder names, or the labels annotators gave), each clustering is scored by purity, NMI,
ARI, homogeneity and completeness, and the embedding itself by leave-one-out kNN accuracy, which
does not depend on the clustering at all. Without ground truth only label-free scores are left:
silhouette, per-cluster cohesion and outliers.

Conventions (docs/evaluate.md): the truth-based clustering scores are computed over the items
that are both clustered and have a truth label, since noise is not a cluster; how much was left
as noise is ``fraction_clustered``, over all items with truth (or all items without truth).
Similarities are cosine similarities of the L2-normalised embeddings.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.bundle import Bundle
from pixplot.cluster import centroid_similarities
from pixplot.errors import UserError
from pixplot.knn import VectorIndex
from seeen_ext.labels import Truth, auto_truth

SILHOUETTE_SAMPLE = 4000
OUTLIER_MADS = 3.5
MAD_FLOOR = 0.01


# ---------------------------------------------------------------------------- metrics


def purity(truth: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of items whose cluster's majority label is their own label."""
    if len(truth) == 0:
        return float("nan")
    total = 0
    for c in np.unique(pred):
        _, counts = np.unique(truth[pred == c], return_counts=True)
        total += counts.max()
    return total / len(truth)


def clustering_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Purity, NMI, ARI, homogeneity, completeness over clustered items; fraction clustered."""
    from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure, normalized_mutual_info_score

    truth = np.asarray(truth).astype(str)
    pred = np.asarray(pred)
    clustered = pred >= 0
    t, p = truth[clustered], pred[clustered]
    out = {"fraction_clustered": float(clustered.mean()) if len(pred) else float("nan")}
    if len(t) == 0:
        return {**out, "purity": float("nan"), "nmi": float("nan"), "ari": float("nan"),
                "homogeneity": float("nan"), "completeness": float("nan")}
    h, c, _ = homogeneity_completeness_v_measure(t, p)
    return {**out, "purity": float(purity(t, p)), "nmi": float(normalized_mutual_info_score(t, p)),
            "ari": float(adjusted_rand_score(t, p)), "homogeneity": float(h), "completeness": float(c)}


def neighbours_loo(E: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest other rows (cosine), best first: (indices, similarities)."""
    n = len(E)
    kk = min(k, n - 1)
    hits = VectorIndex(E, kind="exact").search(E, kk + 1)
    idx, sim = hits.indices, hits.scores
    out_i = np.empty((n, kk), np.int64)
    out_s = np.empty((n, kk), np.float32)
    for r in range(n):
        keep = idx[r] != r
        if keep.all():  # a duplicate vector outranked itself: drop the last
            keep[-1] = False
        out_i[r], out_s[r] = idx[r][keep][:kk], sim[r][keep][:kk]
    return out_i, out_s


def knn_accuracy(E: np.ndarray, truth: np.ndarray, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """Leave-one-out kNN accuracy: each item's label by majority vote of its k nearest others;
    a tie goes to the tied label whose first member is nearest."""
    truth = np.asarray(truth).astype(str)
    if len(truth) < 2:
        return {f"knn{k}": float("nan") for k in ks}
    idx, _ = neighbours_loo(E, max(ks))
    out = {}
    for k in ks:
        right = 0
        for r in range(len(truth)):
            votes = truth[idx[r, :k]]
            counts = Counter(votes)
            top = max(counts.values())
            winner = next(v for v in votes if counts[v] == top)  # nearest among the tied
            right += winner == truth[r]
        out[f"knn{k}"] = right / len(truth)
    return out


def silhouette(E: np.ndarray, pred: np.ndarray, sample: int = SILHOUETTE_SAMPLE, seed: int = 0) -> float | None:
    """Cosine silhouette of the clustered items (a sample of them when many); None with < 2 clusters."""
    from sklearn.metrics import silhouette_score

    keep = np.flatnonzero(pred >= 0)
    if len(np.unique(pred[keep])) < 2 or len(keep) < 3:
        return None
    if len(keep) > sample:
        keep = np.sort(np.random.default_rng(seed).choice(keep, sample, replace=False))
    return float(silhouette_score(E[keep], pred[keep], metric="cosine"))


def cohesion_and_outliers(E: np.ndarray, members: np.ndarray, mads: float = OUTLIER_MADS) -> tuple[float, np.ndarray]:
    """Mean cosine similarity of members to their mean (as in the bundle), and the members much
    farther from it than the rest: similarity below median - ``mads`` robust deviations (MAD x 1.4826,
    at least :data:`MAD_FLOOR`)."""
    sims = centroid_similarities(E[members])
    med = float(np.median(sims))
    # Robust spread, floored so that float noise in a tight cluster never makes outliers.
    mad = max(float(np.median(np.abs(sims - med))) * 1.4826, MAD_FLOOR)
    out = members[sims < med - mads * mad]
    return float(sims.mean()), out


# ---------------------------------------------------------------------------- a whole bundle


def _clusterings(bundle: Bundle, only: str | None) -> list[str]:
    names = bundle.clustering_names
    if only:
        if only not in names:
            raise UserError(f"--clustering {only}: {bundle.root} has {', '.join(names) or 'no clusterings'}")
        return [only]
    return names


def per_cluster(E: np.ndarray, pred: np.ndarray, ids: list[str], truth: np.ndarray | None) -> list[dict[str, Any]]:
    """One record per cluster: size, cohesion, outliers; with truth, majority label, purity and
    intruders (members whose truth differs from the majority)."""
    out = []
    for c in range(int(pred.max()) + 1 if len(pred) else 0):
        members = np.flatnonzero(pred == c)
        if len(members) == 0:
            continue
        coh, outl = cohesion_and_outliers(E, members)
        rec: dict[str, Any] = {"id": c, "size": int(len(members)), "cohesion": round(coh, 4),
                               "outliers": [ids[i] for i in outl]}
        if truth is not None:
            known = members[truth[members] != ""]
            if len(known):
                counts = Counter(truth[known])
                major, n_major = counts.most_common(1)[0]
                intr = [i for i in known if truth[i] != major]
                rec.update({"majority": major, "labelled": int(len(known)), "purity": round(n_major / len(known), 4),
                            "intruders": [{"id": ids[i], "truth": str(truth[i])} for i in intr]})
        out.append(rec)
    return out


def evaluate_bundle(bundle: Bundle, truth: Truth | None = None, clustering: str | None = None) -> dict[str, Any]:
    """Every score for every clustering of ``bundle`` (a JSON-able dict; see docs/evaluate.md)."""
    E = np.asarray(bundle.embeddings, dtype=np.float32)
    ids = bundle.ids
    n = len(ids)
    tv = None
    result: dict[str, Any] = {
        "bundle": str(bundle.root), "items": n,
        "embedder": bundle.embedder_id or None,
        "detector": bundle.detector_id,
        "truth": None, "embedding": {}, "clusterings": [],
    }
    if truth is not None:
        tv = np.array([truth.labels.get(i, "") for i in ids], dtype=object).astype(str)
        has = tv != ""
        result["truth"] = {"source": truth.source, "items": int(has.sum()), "labels": int(len(set(tv[has])))}
        result["embedding"] = knn_accuracy(E[has], tv[has])
        result["_truth_vector"] = [str(t) for t in tv]  # for the report; not written to evaluation.json
    for name in _clusterings(bundle, clustering):
        pred = bundle.cluster_labels(name)
        if len(pred) != n:
            raise UserError(f"{bundle.root}: clustering {name!r} has {len(pred)} labels for {n} items; rebuild it")
        clusters = per_cluster(E, pred, ids, tv)
        rec: dict[str, Any] = {
            "name": name, "clusters": len(clusters), "noise": int((pred < 0).sum()),
            "fraction_clustered": float((pred >= 0).mean()) if n else float("nan"),
            "silhouette": silhouette(E, pred),
            "mean_cohesion": float(np.mean([c["cohesion"] for c in clusters])) if clusters else None,
            "outliers": int(sum(len(c["outliers"]) for c in clusters)),
        }
        if tv is not None:
            has = tv != ""
            rec.update(clustering_scores(tv[has], pred[has]))
            rec["intruders"] = int(sum(len(c.get("intruders", [])) for c in clusters))
        rec["per_cluster"] = clusters
        result["clusterings"].append(rec)
    return _no_nan(result)


def _no_nan(obj: Any) -> Any:
    """NaN (a score with nothing to score) becomes None, so evaluation.json is strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_no_nan(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------- recording and comparing


def evaluate_and_record(bundle: Bundle, truth: Truth | None = None, clustering: str | None = None,
                        report: bool = True) -> dict[str, Any]:
    """:func:`evaluate_bundle`, then written beside the bundle: the HTML report with its
    evaluation.json (``report_path`` added to the result), or evaluation.json alone."""
    result = evaluate_bundle(bundle, truth, clustering)
    if report:
        from seeen_ext.eval_report import write_report

        result["report_path"] = str(write_report(bundle, result))
    else:
        from pixplot.fsutil import atomic_write_json

        atomic_write_json(bundle.root / "evaluation.json", {k: v for k, v in result.items() if not k.startswith("_")},
                          indent=1)
    return result


#: The comparison table's columns; every row of :func:`compare_embedders` follows this order. To add
#: a column, add its name here and its value in :func:`comparison_row` (the CLI prints any column).
COMPARE_COLUMNS = ("embedder", "items", "clusters", "clustered", "purity", "NMI", "ARI", "kNN@1", "kNN@5",
                   "silhouette", "build s")


def comparison_row(name: str, result: dict[str, Any], build_seconds: float) -> list[Any]:
    """One embedder's row (:data:`COMPARE_COLUMNS`): its first clustering's scores and its embedding's
    kNN accuracy; None where there is nothing to score (no truth, no clusters)."""
    c = result["clusterings"][0] if result["clusterings"] else {}
    e = result.get("embedding") or {}
    return [name, result["items"], c.get("clusters"), c.get("fraction_clustered"), c.get("purity"), c.get("nmi"),
            c.get("ari"), e.get("knn1"), e.get("knn5"), c.get("silhouette"), round(build_seconds, 1)]


@dataclass
class Comparison:
    """What :func:`compare_embedders` found: ``rows`` (one per embedder that built, in the order
    asked, :data:`COMPARE_COLUMNS`), ``results`` (name -> its :func:`evaluate_bundle` result),
    ``failed`` (name -> why it could not build), ``truth`` (the ground truth's description, or None)
    and ``path`` (the comparison.json written)."""

    rows: list[list[Any]]
    results: dict[str, dict[str, Any]]
    failed: dict[str, str]
    truth: str | None
    path: Path


def compare_embedders(names: list[str], images: str, work_dir: str | Path,
                      build_options: dict[str, Any] | None = None,
                      truth: Callable[[Bundle], Truth | None] | None = None, clustering: str | None = None,
                      report: bool = True, log: Callable[[str], None] | None = None) -> Comparison:
    """Build ``images`` once per embedder into ``work_dir/<name>`` (each reusing its own cache),
    score each build and write ``work_dir/comparison.json``.

    ``build_options``: further :class:`pixplot.pipeline.BuildOptions` fields, the same for every
    embedder (layouts, cluster, seed...). ``truth(bundle)`` picks each build's ground truth
    (default :func:`auto_truth`). An embedder that cannot run here (a :class:`UserError`: no
    weights, a missing package) is recorded in ``failed`` and the others go on; if none builds,
    that is the error."""
    from pixplot.bundle import open_bundle
    from pixplot.fsutil import atomic_write_json
    from pixplot.pipeline import BuildOptions, build

    if not names:
        raise UserError("--embedders: name at least one embedder, e.g. classic,inception_v3")
    say = log or (lambda _msg: None)
    work = Path(work_dir)
    pick = truth or auto_truth
    rows, results, failed = [], {}, {}
    for name in names:
        out = work / name
        say(f"== {name}: building {out}")
        t = time.perf_counter()
        try:
            build(BuildOptions(images=images, out_dir=str(out), embedder=name, **(build_options or {})))
        except UserError as exc:  # one embedder that cannot run does not sink the others
            failed[name] = str(exc)
            say(f"== {name}: skipped: {exc}")
            continue
        secs = time.perf_counter() - t
        bundle = open_bundle(out)
        results[name] = evaluate_and_record(bundle, pick(bundle), clustering, report)
        rows.append(comparison_row(name, results[name], secs))
    if not results:
        raise UserError("--embedders: none of them could build; " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    first = next(iter(results.values())).get("truth")
    path = work / "comparison.json"
    atomic_write_json(path, {"images": images, "truth": first["source"] if first else None,
                             "columns": list(COMPARE_COLUMNS), "rows": rows, "failed": failed}, indent=1)
    return Comparison(rows, results, failed, first["source"] if first else None, path)

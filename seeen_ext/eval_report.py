"""The evaluation report: ``BUNDLE/evaluation.json`` and ``BUNDLE/evaluation/index.html`` with PNG plots.

The page is static and sits inside the bundle, so ``pixplot serve`` (or any static host) shows it
next to the map, and the intruders' thumbnails are the bundle's own (``../data/thumbs/<id>.jpg``).
Plots are drawn with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import html
import io
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.bundle import Bundle
from pixplot.errors import UserError
from pixplot.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text

MAX_HEATMAP = 60  # rows/columns drawn in the confusion heatmap (the largest)
MAX_INTRUDERS = 24  # thumbnails shown per impure cluster


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def confusion(truth: list[str], pred: np.ndarray) -> tuple[np.ndarray, list[str], list[str]]:
    """Counts of (truth label, cluster) with a final 'noise' column; clusters ordered by their
    majority label so that a clean clustering shows as a diagonal."""
    labels = sorted((lab for lab, _ in Counter(truth).most_common(MAX_HEATMAP)),
                    key=lambda s: (0, int(s), "") if s.lstrip("-").isdigit() else (1, 0, s))
    li = {lab: i for i, lab in enumerate(labels)}
    clusters = sorted({int(c) for c in pred if c >= 0})
    major = {}
    for c in clusters:
        got = Counter(t for t, p in zip(truth, pred, strict=True) if p == c and t in li)
        major[c] = li[got.most_common(1)[0][0]] if got else len(labels)
    sizes = Counter(int(p) for p in pred)
    clusters = sorted(clusters, key=lambda c: (major[c], -sizes[c]))[:MAX_HEATMAP]
    ci = {c: j for j, c in enumerate(clusters)}
    M = np.zeros((len(labels), len(clusters) + 1), np.int64)
    for t, p in zip(truth, pred, strict=True):
        if t not in li:
            continue
        if p < 0:
            M[li[t], -1] += 1
        elif int(p) in ci:
            M[li[t], ci[int(p)]] += 1
    return M, labels, [str(c) for c in clusters] + ["noise"]


def heatmap_png(M: np.ndarray, rows: list[str], cols: list[str], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frac = M / np.maximum(1, M.sum(axis=1, keepdims=True))
    w = min(16, 2 + 0.28 * len(cols))
    h = min(16, 1.5 + 0.28 * len(rows))
    fig, ax = plt.subplots(figsize=(max(4, w), max(3, h)))
    im = ax.imshow(frac, cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xlabel("cluster (ordered by majority label; last column: noise)")
    ax.set_ylabel("true label")
    ax.set_title(title)
    if len(cols) <= 60:
        ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
    if len(rows) <= 60:
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
    if M.size <= 400:
        for (r, c), v in np.ndenumerate(M):
            if v:
                ax.text(c, r, str(v), ha="center", va="center", fontsize=6,
                        color="black" if frac[r, c] > 0.6 else "white")
    fig.colorbar(im, ax=ax, label="fraction of the label's items")
    return _png(fig)


def purity_png(clusters: list[dict[str, Any]], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = clusters[:60]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.22 * len(shown) + 1)))
    y = np.arange(len(shown))
    ax.barh(y, [c["purity"] for c in shown], color=["#d95f02" if c["purity"] < 1 else "#1b9e77" for c in shown])
    ax.set_yticks(y, [f"cluster {c['id']}: {c.get('majority', '?')} (n={c['size']})" for c in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("purity (share of the cluster's labelled items with its majority label)")
    ax.set_title(title)
    return _png(fig)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))


SCORES = [("fraction_clustered", "clustered"), ("purity", "purity"), ("nmi", "NMI"), ("ari", "ARI"),
          ("homogeneity", "homogeneity"), ("completeness", "completeness"), ("silhouette", "silhouette"),
          ("mean_cohesion", "mean cohesion"), ("outliers", "outliers"), ("intruders", "intruders")]


def write_report(bundle: Bundle, result: dict[str, Any]) -> Path:
    """Write evaluation.json and the HTML report with its plots; returns the report's path."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise UserError("the evaluation report needs matplotlib: pip install 'seeen-pixplot[evaluate]', "
                        "or pass --no-report for evaluation.json alone") from exc
    out = bundle.root / "evaluation"
    thumbs = {it["id"]: it.get("thumb") for it in bundle.items}
    parts = [
        "<!doctype html><meta charset='utf-8'><title>pixplot evaluation</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}"
        "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child"
        "{text-align:left}.thumbs img{width:64px;height:64px;object-fit:cover;margin:2px;border:2px solid #d95f02}"
        "figure{margin:0}figcaption{font-size:11px;max-width:68px;overflow:hidden}.row{display:flex;"
        "flex-wrap:wrap}</style>",
        f"<h1>Evaluation of {html.escape(bundle.root.name)}</h1>",
        f"<p>{result['items']} items; embedder <code>{html.escape(str(result['embedder']))}</code>"
        + (f"; detector <code>{html.escape(str(result['detector']))}</code>" if result.get("detector") else "")
        + ".</p>",
    ]
    truth = result.get("truth")
    if truth:
        emb = result["embedding"]
        parts.append(f"<p>Ground truth: {html.escape(truth['source'])} ({truth['items']} items, {truth['labels']} "
                     f"labels). Leave-one-out kNN accuracy of the embedding: kNN@1 {_fmt(emb.get('knn1'))}, "
                     f"kNN@5 {_fmt(emb.get('knn5'))}.</p>")
    else:
        parts.append("<p>No ground truth: label-free scores only (silhouette, cohesion, outliers).</p>")
    truth_labels = result.get("_truth_vector")
    for rec in result["clusterings"]:
        name = rec["name"]
        parts.append(f"<h2>Clustering {html.escape(name)}</h2><table>")
        parts.append("".join(f"<tr><th>{label}</th><td>{_fmt(rec.get(key))}</td></tr>"
                             for key, label in SCORES if key in rec) + "</table>")
        clusters = rec["per_cluster"]
        if truth:
            if truth_labels is not None:
                pred = bundle.cluster_labels(name)
                has = [i for i, t in enumerate(truth_labels) if t]
                M, rows, cols = confusion([truth_labels[i] for i in has], pred[has])
                atomic_write_bytes(out / f"confusion-{name}.png", heatmap_png(M, rows, cols, f"{name}: confusion"))
                parts.append(f"<h3>Confusion</h3><img src='confusion-{html.escape(name)}.png' alt='confusion'>")
            scored = sorted((c for c in clusters if "purity" in c), key=lambda c: (c["purity"], -c["size"]))
            if scored:
                atomic_write_bytes(out / f"purity-{name}.png", purity_png(scored, f"{name}: purity, worst first"))
                parts.append(f"<h3>Per-cluster purity, worst first</h3><img src='purity-{html.escape(name)}.png' "
                             "alt='purity'>")
            impure = [c for c in scored if c["intruders"]]
            for c in impure:
                parts.append(f"<h4>Cluster {c['id']}: majority {html.escape(c['majority'])}, purity "
                             f"{c['purity']:.3f}, {len(c['intruders'])} intruders of {c['size']}</h4><div class='row "
                             "thumbs'>")
                for intr in c["intruders"][:MAX_INTRUDERS]:
                    src = thumbs.get(intr["id"])
                    t = html.escape(intr["truth"])
                    parts.append(f"<figure><img src='../data/{html.escape(src or '')}' title='{t}' alt='{t}'>"
                                 f"<figcaption>{t}</figcaption></figure>")
                if len(c["intruders"]) > MAX_INTRUDERS:
                    parts.append(f"<p>… and {len(c['intruders']) - MAX_INTRUDERS} more</p>")
                parts.append("</div>")
        else:
            worst = sorted(clusters, key=lambda c: c["cohesion"])[:20]
            parts.append("<h3>Least cohesive clusters</h3><table><tr><th>cluster</th><th>size</th><th>cohesion</th>"
                         "<th>outliers</th></tr>" + "".join(
                             f"<tr><td>{c['id']}</td><td>{c['size']}</td><td>{c['cohesion']:.3f}</td>"
                             f"<td>{len(c['outliers'])}</td></tr>" for c in worst) + "</table>")
    atomic_write_text(out / "index.html", "\n".join(parts) + "\n")
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    public["report"] = "evaluation/index.html"
    atomic_write_json(bundle.root / "evaluation.json", public, indent=1)
    return out / "index.html"

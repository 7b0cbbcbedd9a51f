"""CLI subcommands `evaluate` and `recognize` (entry-point group ``pixplot.commands``).

Parsing and printing only; the work is in :mod:`seeen_ext.evaluate`, :mod:`seeen_ext.eval_report`
and :mod:`seeen_ext.recognize`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

from pixplot.errors import UserError

# ---------------------------------------------------------------------------- evaluate


def register_evaluate(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate", help="score a bundle's clusters (purity, NMI, ARI, kNN, silhouette), or compare embedders",
        description="Score a bundle: `pixplot evaluate BUNDLE [--truth CSV | --truth-column category]`. Or build "
        "one bundle per embedder and compare them: `pixplot evaluate --images DIR --embedders classic,face`.")
    p.add_argument("bundle", nargs="?", metavar="BUNDLE", help="a built bundle (omit with --images)")
    t = p.add_argument_group("ground truth (default: the bundle's annotations, else a 'category' column, else none)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--truth", metavar="CSV", help="CSV of item_id (or source path),label")
    g.add_argument("--truth-column", "--truth_column", metavar="NAME", help="a metadata column, e.g. category")
    g.add_argument("--truth-folders", action="store_true", help="the folder each image sits in")
    g.add_argument("--truth-annotations", nargs="?", const="", metavar="BUNDLE",
                   help="labels annotators gave, in this bundle or in another build of the same images")
    g.add_argument("--no-truth", action="store_true", help="label-free scores only")
    p.add_argument("--clustering", help="score only this clustering (default: all in the bundle)")
    p.add_argument("--no-report", action="store_true", help="write evaluation.json only, no HTML report")
    p.add_argument("--compare", action="store_true",
                   help="also score every clustering choice side by side (kNN@5, purity, clustered, ARI, oracle "
                        "actions per item; docs/quality.md); needs ground truth")
    c = p.add_argument_group("compare embedders (builds one bundle per embedder, reusing each one's cache)")
    c.add_argument("--images", help="image folder or glob to build from")
    c.add_argument("--embedders", default="classic", help="comma-separated embedder names (default: classic)")
    c.add_argument("--metadata", help="PixPlot metadata CSV (for --truth-column)")
    c.add_argument("--detector", default="none", help="detector for every variant (default: none)")
    c.add_argument("--work-dir", "--work_dir", default="pixplot-evaluate",
                   help="where the variants' bundles go, one folder per embedder (default: %(default)s)")
    c.add_argument("--layouts", default="umap", help="layouts to build (default: umap)")
    c.add_argument("--cluster", help="hdbscan, dbscan or kmeans (default: the build's)")
    c.add_argument("--cluster-on", "--cluster_on", dest="cluster_on", choices=["embedding", "umap"])
    c.add_argument("--min-cluster-size", "--min_cluster_size", type=int)
    c.add_argument("--max-images", "--max_images", type=int)
    c.add_argument("--seed", type=int, default=24)
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_evaluate)


def _truth(args: argparse.Namespace, bundle: Any) -> Any:
    from seeen_ext import labels as ev

    if args.no_truth:
        return None
    if args.truth:
        return ev.truth_from_csv(bundle, args.truth)
    if args.truth_column:
        return ev.truth_from_column(bundle, args.truth_column)
    if args.truth_folders:
        return ev.truth_from_folders(bundle)
    if args.truth_annotations is not None:
        return ev.truth_from_annotations(bundle, args.truth_annotations or None)
    return ev.auto_truth(bundle)


def _evaluate_one(args: argparse.Namespace, path: str | Path) -> dict[str, Any]:
    from pixplot.bundle import open_bundle
    from seeen_ext.evaluate import evaluate_and_record

    bundle = open_bundle(path)
    return evaluate_and_record(bundle, _truth(args, bundle), args.clustering, report=not args.no_report)


def _f(v: Any, width: int = 7) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–".rjust(width)
    return f"{v:{width}.3f}" if isinstance(v, float) else str(v).rjust(width)


def print_summary(result: dict[str, Any]) -> None:
    truth = result.get("truth")
    print(f"{result['bundle']}: {result['items']} items, embedder {result['embedder']}")
    if truth:
        e = result["embedding"]
        print(f"  truth: {truth['source']} ({truth['items']} items, {truth['labels']} labels); "
              f"kNN@1 {_f(e['knn1'], 0)}, kNN@5 {_f(e['knn5'], 0)}")
    else:
        print("  no ground truth: label-free scores only")
    for c in result["clusterings"]:
        line = (f"  {c['name']}: {c['clusters']} clusters, {c['fraction_clustered']:.1%} clustered, "
                f"silhouette {_f(c['silhouette'], 0)}, mean cohesion {_f(c['mean_cohesion'], 0)}, "
                f"{c['outliers']} outliers")
        if truth:
            line += (f"; purity {_f(c['purity'], 0)}, NMI {_f(c['nmi'], 0)}, ARI {_f(c['ari'], 0)}, homogeneity "
                     f"{_f(c['homogeneity'], 0)}, completeness {_f(c['completeness'], 0)}, {c['intruders']} intruders")
        print(line)


#: Printed widths of the comparison table's columns (others: the name's width plus two).
WIDTHS = {"embedder": 14, "items": 6, "clusters": 8, "clustered": 9, "silhouette": 10, "build s": 8}


def format_table(rows: list[list[Any]]) -> str:
    from seeen_ext.evaluate import COMPARE_COLUMNS

    columns = [(n, max(WIDTHS.get(n, len(n) + 2), len(n))) for n in COMPARE_COLUMNS]
    head = " ".join(n.rjust(w) if i else n.ljust(w) for i, (n, w) in enumerate(columns))
    lines = [head, "-" * len(head)]
    for row in rows:
        cells = [str(row[0]).ljust(columns[0][1])]
        for v, (name, w) in zip(row[1:], columns[1:], strict=True):
            if isinstance(v, int) or v is None:
                cells.append((str(v) if v is not None else "–").rjust(w))
            elif name == "build s":
                cells.append(f"{v:{w}.1f}")
            else:
                cells.append(_f(v, w))
        lines.append(" ".join(cells))
    return "\n".join(lines)


def run_evaluate(args: argparse.Namespace) -> int:
    if args.images and args.bundle:
        raise UserError("give either BUNDLE or --images DIR --embedders ..., not both")
    if not args.images:
        if not args.bundle:
            raise UserError("name a BUNDLE to evaluate, or --images DIR --embedders a,b to compare embedders")
        result = _evaluate_one(args, args.bundle)
        print_summary(result)
        print(f"Wrote {Path(args.bundle) / 'evaluation.json'}" +
              (f" and {result['report_path']}" if "report_path" in result else ""))
        if args.compare:
            from pixplot.bundle import open_bundle

            rows = _clustering_rows(args, open_bundle(args.bundle), Path(args.bundle).name, None)
            _print_quality(rows, Path(args.bundle) / "quality.json")
        return 0
    return _compare(args)


def _clustering_rows(args: argparse.Namespace, bundle: Any, name: str, images_per_s: float | None) -> list[dict]:
    """Every clustering choice of :mod:`seeen_ext.quality` on this bundle's embeddings and UMAP layout,
    scored against its ground truth (items without a truth label are left out)."""
    import numpy as np

    from seeen_ext.quality import score_clusterings

    truth = _truth(args, bundle)
    if truth is None:
        raise UserError("--compare needs ground truth: --truth CSV, --truth-column, --truth-folders or annotations")
    tv = np.array([truth.labels.get(i, "") for i in bundle.ids], dtype=object).astype(str)
    has = tv != ""
    if has.sum() < 6:
        raise UserError(f"--compare: only {int(has.sum())} items of {bundle.root} have a truth label; label more")
    from seeen_ext.quality import CHOICES

    choices = CHOICES
    xy = bundle.layout("umap")[has] if "umap" in bundle.layout_names else None
    if xy is None:  # no UMAP of its own: compare what clusters the embeddings (no minute-long UMAP fit here)
        choices = {k: v for k, v in CHOICES.items() if v[0] != "umap"}
        print(f"{bundle.root} has no umap layout: the UMAP-space choices are left out (build with --layouts umap)",
              file=sys.stderr)
    scores = score_clusterings(np.asarray(bundle.embeddings)[has], tv[has], xy, seed=args.seed, choices=choices)
    embedder = (bundle.manifest.get("embedder") or {}).get("name", name)
    return [{"set": name, "embedder": embedder, "clustering": c, **s, "images_per_s": images_per_s}
            for c, s in scores.items()]


def _print_quality(rows: list[dict], path: Path) -> None:
    from pixplot.fsutil import atomic_write_json
    from seeen_ext.quality import PREVIOUS_DEFAULT, format_rows

    print("Clustering choices (act/it: oracle actions per item, 1.0 = labelling one by one; lower is better):")
    print(format_rows(rows))
    for emb in dict.fromkeys(r["embedder"] for r in rows):
        mine = [r for r in rows if r["embedder"] == emb]
        best = min(mine, key=lambda r: r["actions"])
        was = next((r for r in mine if r["clustering"] == PREVIOUS_DEFAULT), None)
        print(f"{emb}: fewest actions with {best['clustering']} ({best['actions']:.3f}/item, purity "
              f"{best['purity']:.3f}, {best['clustered']:.0%} clustered)"
              + (f"; {PREVIOUS_DEFAULT}: {was['actions']:.3f}/item" if was else ""))
    atomic_write_json(path, {"rows": rows}, indent=1)
    print(f"Wrote {path}")


def _compare(args: argparse.Namespace) -> int:
    from seeen_ext.evaluate import compare_embedders

    names = [n.strip() for n in args.embedders.split(",") if n.strip()]
    options = {"metadata": args.metadata, "detector": args.detector, "layouts": args.layouts,
               "cluster": args.cluster, "cluster_on": args.cluster_on, "min_cluster_size": args.min_cluster_size,
               "max_images": args.max_images, "seed": args.seed, "progress": not args.quiet}
    cmp = compare_embedders(names, args.images, args.work_dir, options, truth=lambda b: _truth(args, b),
                            clustering=args.clustering, report=not args.no_report,
                            log=lambda msg: print(msg, file=sys.stderr, flush=True))
    print(f"Ground truth: {cmp.truth or 'none (label-free scores only)'}")
    print(format_table(cmp.rows))
    for name, why in cmp.failed.items():
        print(f"{name}: not built ({why})")
    print(f"Wrote {cmp.path} and one evaluation report per embedder under {Path(args.work_dir)}/")
    if args.compare:
        from pixplot.bundle import open_bundle

        rows = []
        for row in cmp.rows:
            name, items, secs = row[0], row[1], row[-1]
            ips = round(items / secs, 1) if secs else None  # the whole build's images per second
            rows += _clustering_rows(args, open_bundle(Path(args.work_dir) / name), Path(args.images).name, ips)
        _print_quality(rows, Path(args.work_dir) / "quality.json")
    return 0


# ---------------------------------------------------------------------------- recognize


def register_recognize(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recognize", help="label new images by nearest neighbours in a labelled gallery",
        description="Label images by similarity to a gallery: a bundle (its labelled, non-excluded items), a "
        "gallery .npz, or s3://bucket/prefix from `pixplot upload`. The gallery's own detector and embedder run.")
    p.add_argument("images", nargs="+", metavar="IMAGES", help="image files, folders or globs")
    p.add_argument("--gallery", required=True, metavar="BUNDLE|gallery.npz|s3://bucket/prefix")
    p.add_argument("--out", required=True, metavar="results.csv", help="where the results CSV goes")
    p.add_argument("--threshold", default="auto",
                   help="cosine similarity below which the answer is 'unknown', or auto (calibrated; default)")
    p.add_argument("--k", type=int, default=5, help="neighbours listed per item (default: 5)")
    p.add_argument("--index", choices=["auto", "exact", "approx"], default="auto",
                   help="exact search, approximate (faiss IVF), or auto: approximate above 200,000 items")
    p.add_argument("--label-column", "--label_column",
                   help="bundle gallery: label by this metadata column instead of the annotations")
    p.add_argument("--embedder", help="must match the gallery's (a guard; the gallery decides)")
    p.add_argument("--detector", help="must match the gallery's; required for a gallery file that does not "
                   "record it ('none' for whole images)")
    p.add_argument("--endpoint-url", help="S3-compatible endpoint for an s3:// gallery")
    p.add_argument("--profile", help="AWS profile for an s3:// gallery")
    p.set_defaults(func=run_recognize)


def run_recognize(args: argparse.Namespace) -> int:
    from seeen_ext import recognize as rc
    from seeen_ext.gallery import load_gallery

    g = load_gallery(args.gallery, args.label_column, args.endpoint_url, args.profile)
    rc.check_requested(g, args.embedder, args.detector)
    if args.detector:
        rc.assume_detector(g, args.detector)
    rc.gallery_plugins(g)  # a mismatch fails before the index, the calibration or any image
    sources = rc.query_files(args.images)
    rec = rc.make_recogniser(g, args.threshold, args.k, args.index)
    labels = len(set(g.labels.tolist()))
    print(f"Gallery: {len(g)} items, {labels} labels from {g.source}; embedder {g.embedder}"
          + (f", detector {g.detector}" if g.detector else ""), file=sys.stderr)
    tuned = f" (nprobe {getattr(rec.index, 'nprobe', '')}, recall@10 vs exact {rec.recall:.3f})" if rec.recall else ""
    print(f"Index: {rec.index.kind}{tuned}", file=sys.stderr)
    if rec.calibration is not None:
        print(f"Threshold: {rec.calibration.describe()}")
    else:
        print(f"Threshold: {rec.threshold:.4f} (given)")
    t = time.perf_counter()
    rows = rec.recognise_sources(sources)
    rc.write_csv(rows, args.out)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"Recognised {len(sources)} images in {time.perf_counter() - t:.1f}s: {summary}. Wrote {args.out}")
    return 0

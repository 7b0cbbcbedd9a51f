"""The `pixplot` command: argument parsing and printing only; the work lives in plain functions."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from pixplot import __version__
from pixplot.errors import UserError
from pixplot.imageio import DEFAULT_MAX_FILE_SIZE

BUILD_DEFAULTS = {"out_dir": "output", "seed": 24}


def _add_build_args(p: argparse.ArgumentParser, demo: bool = False) -> None:
    g = p.add_argument_group("input (PixPlot's flags)")
    if not demo:
        g.add_argument("--images",
                       help="a folder (searched recursively) or a glob such as 'photos/**/*.jpg' (required, "
                       "except with --copy_web_only)")
        g.add_argument("--metadata", help="PixPlot metadata CSV: filename, category, tags, description, ...")
        g.add_argument("--endpoint-url", "--endpoint_url", dest="endpoint_url",
                       help="S3-compatible endpoint for s3:// --images/--metadata (default: AWS)")
        g.add_argument("--profile", help="AWS profile for s3:// input (default: the standard AWS chain)")
    g.add_argument("--out_dir", "--out-dir", default="output" if not demo else "pixplot-demo/output",
                   help="where the bundle goes (default: %(default)s)")
    g.add_argument("--max_images", "--max-images", type=int, help="use at most this many images")
    g.add_argument("--max_file_size", "--max-file-size", type=_size, default=DEFAULT_MAX_FILE_SIZE,
                   metavar="SIZE", help="skip larger files without reading them: bytes, or a number with K, M "
                   "or G (default: 1G)")
    g.add_argument("--shuffle", action="store_true", help="pick --max_images at random (seeded)")
    g.add_argument("--seed", type=int, default=24, help="seed for every random step (default: 24)")
    g.add_argument("--use_cache", "--use-cache", action=argparse.BooleanOptionalAction, default=True,
                   help="reuse finished work from earlier builds (default: yes)")
    g = p.add_argument_group("stages")
    g.add_argument("--embedder", help="embedder name (default: the detector's, else the best installed "
                   "learned one, else 'classic'; docs/embedders.md); see `pixplot plugins`")
    g.add_argument("--detector", default="none", help="detector name, or 'none' (default)")
    g.add_argument("--layouts", default="umap,grid",
                   help="comma-separated projector names, the first shown first: umap, tsne, grid or any "
                   "installed projector (default: %(default)s)")
    g.add_argument("--cluster", help="hdbscan, dbscan or kmeans (default: the detector's, else hdbscan)")
    g.add_argument("--cluster-on", "--cluster_on", dest="cluster_on", choices=["embedding", "umap"],
                   help="cluster the embeddings or the 2-D UMAP layout (default: umap; embedding for faces)")
    g.add_argument("--min_cluster_size", "--min-cluster-size", type=int, help="HDBSCAN (default: 5; docs/quality.md)")
    g.add_argument("--min_samples", "--min-samples", type=int, help="HDBSCAN/DBSCAN min_samples")
    g.add_argument("--eps", type=float, help="DBSCAN neighbourhood radius")
    g.add_argument("--max_clusters", "--max-clusters", type=int,
                   help="keep only the largest N clusters (k for k-means); default: keep all")
    g.add_argument("--n_neighbors", "--n-neighbors", type=int, default=15, help="UMAP (default: 15)")
    g.add_argument("--min_dist", "--min-dist", type=float, default=0.1, help="UMAP (default: 0.1)")
    g.add_argument("--umap-epochs", "--umap_epochs", dest="umap_epochs", type=int,
                   help="UMAP optimisation epochs (default: UMAP's own, 500 or 200; 100 above 50,000 items)")
    g.add_argument("--metric", default="cosine", help="UMAP/t-SNE metric (default: cosine)")
    g = p.add_argument_group("output")
    g.add_argument("--cell_size", "--cell-size", type=int, default=32, help="atlas cell pixels (default: 32)")
    g.add_argument("--thumb_size", "--thumb-size", type=int, default=256, help="preview pixels (default: 256)")
    g.add_argument("--crop_margin", "--crop-margin", type=float, default=0.2,
                   help="margin around a detection's crop, as a fraction of its box (default: 0.2)")
    g.add_argument("--originals", choices=["link", "copy", "none"], default="link",
                   help="how the bundle keeps full images: symlinks, copies, or not at all")
    g.add_argument("--gzip", action="store_true",
                   help="also write precompressed X.gz beside data/ files, for hosts that serve them (PixPlot's)")
    g.add_argument("--plot_id", "--plot-id", dest="plot_id",
                   help="a name for this plot that stays across rebuilds; the viewer keys this browser's saved "
                   "annotations by it (PixPlot's)")
    g.add_argument("--copy_web_only", "--copy-web-only", dest="copy_web_only", action="store_true",
                   help="only refresh the viewer of the bundle in --out_dir, data untouched (PixPlot's)")
    g = p.add_argument_group("bring your own")
    g.add_argument("--vectors", metavar="FILE",
                   help="vectors computed elsewhere, in place of an embedder: .npy (+ names in FILE.txt), .npz, "
                   ".csv or .parquet keyed by file name")
    g.add_argument("--clusters-from", "--clusters_from", dest="clusters_from", metavar="COLUMN",
                   help="take the clusters from this metadata column instead of computing them")
    g.add_argument("--layout-file", "--layout_file", dest="layout_files", action="append", default=[],
                   metavar="NAME=FILE.csv", help="add a layout NAME from a CSV filename,x,y (repeatable)")
    g = p.add_argument_group("execution")
    g.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="local: this machine's cores (default); ray: a Ray cluster (see docs/scale.md)")
    g.add_argument("--ray-address", "--ray_address", dest="ray_address", default=None,
                   help="Ray cluster to join (default: $RAY_ADDRESS when set, else a local Ray instance "
                   "started for the build; 'auto' joins the one running on this machine)")
    g.add_argument("--num-gpus", "--num_gpus", dest="num_gpus", type=float, default=0.0,
                   help="GPUs per embedding worker on the ray executor (default: 0)")
    g.add_argument("--umap-fit-sample", "--umap_fit_sample", dest="umap_fit_sample", type=int, default=200_000,
                   help="above this many items UMAP fits on a seeded sample and places the rest "
                   "(default: %(default)s)")
    g.add_argument("--workers", type=int, help="processes for the per-item stages (default: all cores)")
    g.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, help="items per embedding batch")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_plugin_args(p)


def _add_plugin_args(p: argparse.ArgumentParser) -> None:
    """A ``--<name>`` flag for each option a detector, embedder, projector or clusterer declares.

    A clash between plugins (or with a build flag) must not break other commands, so it is kept
    and reported when the build runs (:func:`_build_options`)."""
    from pixplot.plugins import all_options

    reserved = {a.dest for a in p._actions} | {s.lstrip("-") for a in p._actions for s in a.option_strings}
    try:
        options = all_options(reserved)
    except UserError as exc:
        p.set_defaults(plugin_option_error=str(exc))
        return
    g = p.add_argument_group("plugin options")
    for name, decls in sorted(options.items()):
        kw = dict(decls[0].argparse)
        if len(decls) > 1:  # one flag shared by plugins of one kind: say whose it is
            kw["help"] = "; ".join(dict.fromkeys(d.argparse.get("help", d.plugin) for d in decls))
        g.add_argument(f"--{name}", dest=f"plugin__{name}", **kw)


def _build_options(args: argparse.Namespace, images: str, metadata: str | None) -> Any:
    from pixplot.plan import BuildOptions

    if getattr(args, "plugin_option_error", None):
        raise UserError(args.plugin_option_error)
    plugin_options = {k[len("plugin__"):]: v for k, v in vars(args).items()
                      if k.startswith("plugin__") and v is not None}
    return BuildOptions(
        images=images, out_dir=args.out_dir, metadata=metadata, max_images=args.max_images,
        max_file_size=args.max_file_size,
        shuffle=args.shuffle, seed=args.seed, embedder=args.embedder, detector=args.detector,
        layouts=args.layouts, cluster=args.cluster, cluster_on=args.cluster_on,
        min_cluster_size=args.min_cluster_size, min_samples=args.min_samples, eps=args.eps,
        max_clusters=args.max_clusters, n_neighbors=args.n_neighbors, min_dist=args.min_dist,
        umap_epochs=args.umap_epochs,
        metric=args.metric, cell_size=args.cell_size, thumb_size=args.thumb_size,
        crop_margin=args.crop_margin, originals=args.originals, use_cache=args.use_cache,
        executor=args.executor, workers=args.workers, batch_size=args.batch_size,
        ray_address=args.ray_address, num_gpus=args.num_gpus, umap_fit_sample=args.umap_fit_sample,
        endpoint_url=getattr(args, "endpoint_url", None), profile=getattr(args, "profile", None),
        vectors=getattr(args, "vectors", None), clusters_from=getattr(args, "clusters_from", None),
        layout_files=list(getattr(args, "layout_files", None) or []), gzip=getattr(args, "gzip", False),
        plot_id=getattr(args, "plot_id", None),
        plugin_options=plugin_options, progress=not args.quiet,
    )


def _report(res: Any) -> None:
    bad = len(res.skipped)
    parts = [f"{res.items} items from {res.images} images"]
    if res.no_detections:
        parts.append(f"{res.no_detections} images with no detections")
    parts.append(f"{res.clusters} clusters, {res.noise} unclustered")
    parts.append(f"{bad} files skipped" + (" (see data/skipped.csv)" if bad else ""))
    unmatched = (res.manifest.get("counts") or {}).get("unmatched_metadata_rows", 0)
    if unmatched:
        parts.append(f"{unmatched} metadata rows matched no file")
    parts.append(f"{res.embedded} embedded this run")
    print("Built: " + "; ".join(parts) + f" in {res.timings['total']:.1f}s.")
    if res.embedder_reason:
        print(f"  embedder {res.manifest['embedder']['name']}: {res.embedder_reason}")
    for path, reason in res.skipped[:5]:
        print(f"  skipped {path}: {reason}")
    if bad > 5:
        print(f"  ... and {bad - 5} more in {res.out_dir / 'data' / 'skipped.csv'}")
    if res.dropped_clusters:
        print(f"  --max_clusters kept the {res.clusters} largest clusters; "
              f"{res.dropped_clusters} smaller ones are shown as unclustered.")
    out = res.out_dir
    print(f"Bundle written to {out.resolve()}")
    print(f"Open it to annotate:  {pixplot_command()} serve " + _shell(out))
    print(f"or view it statically: cd {_shell(out)} && python3 -m http.server 8000  "
          "(then open http://127.0.0.1:8000/)")


def _shell(p: Path | str) -> str:
    s = str(p)
    return "'" + s.replace("'", "'\\''") + "'" if any(c in s for c in " '\"$&;()<>|*?[]`\\!#~") else s


def pixplot_command() -> str:
    """How to run ``pixplot`` again from this shell, as typed: ``pixplot`` when the shell would find
    this very program (an active venv, or an install on PATH), else the path of this environment's
    script (``.venv/bin/pixplot`` after the README's set-up, which does not activate the venv)."""
    script = Path(sys.prefix) / "bin" / "pixplot"
    if not script.is_file():
        argv0 = Path(sys.argv[0])
        script = argv0 if argv0.name == "pixplot" and argv0.is_file() else script
    if not script.is_file():  # run as `python -m pixplot`
        return f"{_shell(_relative(Path(sys.executable)))} -m pixplot"
    found = shutil.which("pixplot")
    if found and os.path.realpath(found) == os.path.realpath(script):
        return "pixplot"
    return _shell(_relative(script.absolute()))


def _relative(p: Path) -> str:
    """``p`` relative to the working folder when it lies below it (``.venv/bin/pixplot``)."""
    try:
        return p.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(p)


def _size(text: str) -> int:
    from pixplot.imageio import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_build(args: argparse.Namespace) -> int:
    from pixplot.pipeline import build

    if args.copy_web_only:
        from pixplot.publish import refresh_viewer

        n = refresh_viewer(args.out_dir)
        print(f"pixplot: refreshed the viewer of {args.out_dir} ({n} files); its data is untouched")
        return 0
    if not args.images:
        raise UserError("--images is required (a folder, a glob or an s3:// prefix), except with --copy_web_only")
    res = build(_build_options(args, args.images, args.metadata))
    _report(res)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pixplot.demo import make_digits
    from pixplot.pipeline import build

    images, meta = make_digits(Path(args.out_dir).resolve().parent / "digits", limit=args.max_images)
    if args.embedder is None and args.detector in (None, "none"):
        # Measured in docs/quality.md: on 8x8 digit scans classic clusters purer than ImageNet features.
        args.embedder = "classic"
        print("Demo embedder: classic (on these tiny digit scans it clusters purer than the learned "
              "default; docs/quality.md); choose another with --embedder")
    print(f"Demo images: {len(list(images.rglob('*.png')))} handwritten digits from scikit-learn "
          f"in {images} (category = the digit)")
    res = build(_build_options(args, str(images), str(meta)))
    _report(res)
    return 0


def _backend(kind: str, name: str) -> str | None:
    """What a plugin with more than one implementation (cuML on a GPU, or the CPU) runs here."""
    from pixplot.plugins import get_class

    try:
        note = getattr(get_class(kind, name), "backend", None)
        return note() if callable(note) else None
    except Exception as exc:  # a broken backend probe never breaks the listing
        return f"unknown ({type(exc).__name__}: {exc})"


def cmd_plugins(args: argparse.Namespace) -> int:
    from pixplot.plugins import list_plugins

    rows = list_plugins()
    for kind in ("detector", "embedder", "projector", "clusterer"):
        print(f"{kind}s:")
        for r in (r for r in rows if r.kind == kind):
            status = f"ERROR {r.error}" if r.error else r.version
            print(f"  {r.name:<14} {r.target:<48} {status}")
            backend = _backend(kind, r.name) if not r.error else None
            if backend:
                print(f"  {'':<14} backend: {backend}")
    from pixplot.plugins import commands

    cmds = commands()
    if cmds:
        print("commands:")
        for ep in cmds:
            print(f"  {ep.name:<14} {ep.value}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixplot", description="Turn an image collection into a browsable map of clusters, "
        "then review and label whole clusters at once.")
    parser.add_argument("--version", action="version", version=f"pixplot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("build", help="build a bundle from images (PixPlot's flags)")
    _add_build_args(p)
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("demo", help="build the built-in sample collection (handwritten digits)")
    _add_build_args(p, demo=True)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("plugins", help="list installed detectors, embedders, projectors, clusterers")
    p.set_defaults(func=cmd_plugins)
    from pixplot.plugins import commands

    for ep in commands():
        try:
            ep.load()(sub)
        except Exception as exc:  # a broken plugin never breaks the CLI
            print(f"pixplot: warning: command plugin {ep.name} failed to load ({exc})", file=sys.stderr)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("--images"):  # PixPlot's bare form: pixplot --images ...
        argv.insert(0, "build")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"pixplot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pixplot: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

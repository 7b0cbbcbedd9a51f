"""CLI subcommands `serve`, `upload`, `share` and `annotations` (entry-point group ``pixplot.commands``).

Each ``register_*`` adds a subparser and a handler; the handler parses nothing itself and calls a
plain function, then prints. The core CLI prints a raised UserError on one line and exits 2.
"""

from __future__ import annotations

import argparse
from typing import Any

from pixplot.errors import UserError


def _bundle_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", metavar="BUNDLE", nargs="?", default="output",
                   help="the folder `pixplot build` wrote (default: output, as `pixplot build` does)")


# ---------------------------------------------------------------------------- serve


def register_serve(subparsers: Any) -> None:
    p = subparsers.add_parser("serve", help="serve a bundle with the annotation API (docs/api.md)")
    _bundle_arg(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs the token for writes)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.add_argument("--token", default=None,
                   help="token writes must carry in X-Pixplot-Token (generated when --host is not loopback)")
    p.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint for uploads from the viewer")
    p.add_argument("--profile", default=None, help="AWS profile for uploads from the viewer")
    p.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from seeen_ext.server import serve

    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: not a port number (0-65535)")
    defaults = {"endpoint_url": args.endpoint_url, "profile": args.profile}
    serve(args.bundle, host=args.host, port=args.port, token=args.token, upload_defaults=defaults)
    return 0


# ---------------------------------------------------------------------------- upload


def register_upload(subparsers: Any) -> None:
    p = subparsers.add_parser("upload", help="upload labelled images, labels and gallery to S3-compatible storage")
    _bundle_arg(p)
    p.add_argument("target", metavar="s3://bucket/prefix", help="where to upload")
    p.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint (MinIO, SeaweedFS, R2...)")
    p.add_argument("--profile", default=None, help="AWS profile (credentials come from the standard AWS chain)")
    p.add_argument("--include-unlabelled", action="store_true",
                   help="also upload unlabelled (images/_unlabelled/) and excluded (images/_excluded/) items")
    p.add_argument("--workers", type=int, default=8, help="concurrent uploads (default 8)")
    p.set_defaults(func=run_upload)


def run_upload(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pixplot.bundle import open_bundle
    from seeen_ext.store import open_store
    from seeen_ext.upload import parse_target, upload_bundle

    parse_target(args.target)  # a typo is reported before any bar is drawn
    bundle = open_bundle(args.bundle)
    state = open_store(bundle).state()
    bar = tqdm(total=0, unit="obj", desc="upload", dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        res = upload_bundle(bundle, state, args.target, endpoint_url=args.endpoint_url, profile=args.profile,
                            include_unlabelled=args.include_unlabelled, progress=progress,
                            workers=max(1, args.workers))
    finally:
        bar.close()
    s = res.summary()
    print(f"pixplot: {s['objects']} objects at {s['target']}: {s['uploaded']} uploaded "
          f"({s['bytes_sent']} bytes), {s['skipped']} already there")
    return 0


# ---------------------------------------------------------------------------- share


def register_share(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "share", help="write a self-contained copy to publish: originals copied, labels baked in, nothing private")
    _bundle_arg(p)
    p.add_argument("dest", metavar="DEST", nargs="?", help="a new (or empty) folder for the copy")
    p.add_argument("--zip", dest="zip_path", metavar="FILE", help="also (or instead) write the copy as a zip file")
    p.set_defaults(func=run_share)


def run_share(args: argparse.Namespace) -> int:
    from seeen_ext.share import share_bundle, summary

    print(summary(share_bundle(args.bundle, args.dest, args.zip_path)))
    return 0


# ---------------------------------------------------------------------------- annotations


def register_annotations(subparsers: Any) -> None:
    p = subparsers.add_parser("annotations", help="export or import a bundle's annotations")
    sub = p.add_subparsers(dest="annotations_command", metavar="{export,import}")
    sub.required = True
    ex = sub.add_parser("export", help="write labels as csv, json, an image folder, or the gallery .npz")
    _bundle_arg(ex)
    ex.add_argument("--format", required=True, choices=["csv", "json", "imagefolder", "gallery"])
    ex.add_argument("--out", required=True, metavar="PATH", help="file (csv, json, gallery) or folder (imagefolder)")
    ex.add_argument("--include-unlabelled", action="store_true",
                    help="imagefolder: also write _unlabelled/ and _excluded/ items")
    ex.set_defaults(func=run_export)
    im = sub.add_parser("import", help="merge a JSON file exported by the viewer (static mode) or the server")
    _bundle_arg(im)
    im.add_argument("file", metavar="FILE")
    im.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    from pixplot.bundle import open_bundle
    from seeen_ext.export import export
    from seeen_ext.store import open_store

    bundle = open_bundle(args.bundle)
    store = open_store(bundle)
    events = store.events() if args.format == "json" else None
    n = export(bundle, store.state(), args.format, args.out, events=events,
               include_unlabelled=args.include_unlabelled)
    print(f"pixplot: wrote {args.format} export of {n} items to {args.out}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from pixplot.bundle import open_bundle
    from seeen_ext.export import import_file
    from seeen_ext.store import open_store

    bundle = open_bundle(args.bundle)
    res = import_file(open_store(bundle), args.file)
    print(f"pixplot: imported {res.accepted - res.duplicates} new events from {args.file} "
          f"({res.duplicates} already there); version {res.version}")
    return 0

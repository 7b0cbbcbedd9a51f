"""`pixplot share`: a self-contained, publishable copy of an annotated bundle.

Why a separate copy rather than publishing the working folder: the working bundle links its
originals to the source images (a copied or rsynced folder loses them), keeps the annotation
store (labels *and* annotator names) and the build cache, and its manifest records local paths.
The shared copy holds the installed viewer, the bundle's ``data/`` with originals copied as real
files, the current labels baked into ``data/annotations.json`` (a read-only snapshot: viewers see
them, their own changes stay in their browser), and nothing else: no database, no cache, no
dot-files, no local paths. Files are written readable by a static web server running as another
user (0644 / 0755 under the default umask).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixplot.bundle import Bundle, open_bundle
from pixplot.errors import UserError
from pixplot.fsutil import dir_mode, file_mode

#: The baked labels, relative to ``data/``; the manifest names it in ``annotations``.
BAKED = "annotations.json"
#: Build options that hold local paths or account names: never published.
PRIVATE_OPTIONS = ("images", "metadata", "out_dir", "endpoint_url", "profile", "ray_address", "weights",
                   "vectors", "layout_files", "geojson")
#: Files never copied, wherever they are: the store and its journals, half-written temporaries.
_NEVER = ("annotations.sqlite",)
#: Already compressed: stored as they are in a zip.
_STORED = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".gz", ".npz", ".zip")


@dataclass
class ShareResult:
    files: int = 0
    bytes: int = 0
    originals: int = 0
    originals_missing: list[str] = field(default_factory=list)
    labelled: int = 0
    excluded: int = 0
    dest: Path | None = None
    zip: Path | None = None


def _private_value(v: Any) -> bool:
    """A string that looks like a local path or a URL with a host: dropped from the manifest."""
    return isinstance(v, str) and (v.startswith(("/", "~", "\\", "s3://", "http://", "https://", "file:"))
                                   or (len(v) > 2 and v[1] == ":" and v[2] in "/\\"))


def public_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without local paths, profiles or endpoints, naming the baked labels."""
    m = json.loads(json.dumps(manifest))
    opts = m.get("options") or {}
    m["options"] = {k: v for k, v in opts.items() if k not in PRIVATE_OPTIONS and not _private_value(v)}
    po = m["options"].get("plugin_options")
    if isinstance(po, dict):
        m["options"]["plugin_options"] = {k: v for k, v in po.items() if not _private_value(v)}
    m["annotations"] = BAKED
    m["shared"] = True
    return m


def baked_labels(bundle: Bundle) -> dict[str, Any]:
    """The bundle's current labels and exclusions, without authors or times; a bundle nobody has
    annotated yet gets an empty snapshot (no store is created for it)."""
    from seeen_ext.store import AnnotationStore, existing_store, migrate_legacy_store

    migrate_legacy_store(bundle.root)
    path = existing_store(bundle.root)
    state: dict[str, Any] = {"labels": {}, "excluded": []}
    if path is not None:
        store = AnnotationStore(path, bundle.ids)
        try:
            state = store.state()
        finally:
            store.close()
    return {"format": "pixplot-annotations", "version": 1, "read_only": True,
            "labels": state["labels"], "excluded": state["excluded"]}


def _viewer_files() -> Iterator[tuple[str, Path]]:
    import pixplot

    web = Path(pixplot.__file__).parent / "web"
    for src in sorted(web.rglob("*")):
        if src.is_file() and "__pycache__" not in src.parts and not src.name.startswith("."):
            yield src.relative_to(web).as_posix(), src


def _data_files(bundle: Bundle) -> Iterator[tuple[str, Path]]:
    """(path in the share, file on disk) for data/, links followed, private things left out."""
    data = bundle.data
    for dirpath, dirnames, filenames in os.walk(data, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.startswith(_NEVER) or name.endswith(".tmp"):
                continue
            src = Path(dirpath) / name
            yield "data/" + src.relative_to(data).as_posix(), src


class _Sink:
    """Where the share's files go: a folder, a zip, or both."""

    def __init__(self, folder: Path | None, zf: zipfile.ZipFile | None) -> None:
        self.folder, self.zf = folder, zf
        self.files = self.bytes = 0

    def add_bytes(self, rel: str, data: bytes) -> None:
        if self.folder is not None:
            out = self.folder / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            os.chmod(out, file_mode())
        if self.zf is not None:
            self.zf.writestr(self._info(rel), data)
        self.files += 1
        self.bytes += len(data)

    def add_file(self, rel: str, src: Path) -> None:
        if self.folder is not None:
            out = self.folder / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out)  # contents only: a link becomes a real file, modes are not carried
            os.chmod(out, file_mode())
        if self.zf is not None:
            with open(src, "rb") as f, self.zf.open(self._info(rel), "w", force_zip64=True) as z:
                shutil.copyfileobj(f, z, 1 << 20)
        self.files += 1
        self.bytes += src.stat().st_size

    def _info(self, rel: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = (0o100000 | 0o644) << 16  # unzip gives 0644 less its umask, not 0600
        info.compress_type = zipfile.ZIP_STORED if rel.lower().endswith(_STORED) else zipfile.ZIP_DEFLATED
        return info


def _check_dest(bundle: Bundle, dest: Path) -> None:
    root = bundle.root.resolve()
    target = dest.resolve()
    if target == root or root in target.parents:
        raise UserError(f"{dest}: the shared copy cannot go inside the bundle it copies; choose a folder elsewhere")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UserError(f"{dest}: already exists and is not an empty folder; choose a new folder")


def _rewritten(bundle: Bundle, snapshot: dict[str, Any], res: ShareResult) -> dict[str, bytes]:
    """The files the shared copy holds in a form of its own: the public manifest, the items (an original
    that cannot be found is dropped and named in ``res``) and the baked labels."""
    items = json.loads(json.dumps(bundle.items))
    for it in items:
        orig = it.get("original")
        if not orig or (bundle.data / orig).is_file():  # follows the link; a dangling one is missing
            continue
        if it["source"] not in res.originals_missing:
            res.originals_missing.append(it["source"])
        it["original"] = None
    manifest = public_manifest(bundle.manifest)
    return {
        "data/manifest.json": json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"),
        "data/" + manifest["items"]: json.dumps({"items": items}, ensure_ascii=False,
                                                separators=(",", ":")).encode("utf-8"),
        "data/" + BAKED: json.dumps(snapshot, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
    }


def _copy_into(sink: _Sink, files: list[tuple[str, Path]], rewritten: dict[str, bytes], res: ShareResult,
               total: int, progress: Callable[[int, int], None] | None) -> None:
    """Every file into the sink, the manifest last, as a build writes it."""
    for done, (rel, src) in enumerate(files, 1):
        sink.add_file(rel, src)
        if rel.startswith("data/originals/"):
            res.originals += 1
        if progress and done % 200 == 0:
            progress(done, total)
    for rel, blob in rewritten.items():
        if rel != "data/manifest.json":
            sink.add_bytes(rel, blob)
    sink.add_bytes("data/manifest.json", rewritten["data/manifest.json"])


def share_bundle(bundle_path: str | Path, dest: str | Path | None = None, zip_path: str | Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> ShareResult:
    """Write the shared copy of a bundle to the folder ``dest`` and/or the zip ``zip_path``.

    Both are written to temporary names and renamed into place at the end, so a failed share
    never leaves something that looks finished."""
    if dest is None and zip_path is None:
        raise UserError("pixplot share: name a destination folder, or --zip FILE, or both")
    bundle = open_bundle(bundle_path)
    dest_p = Path(dest) if dest is not None else None
    zip_p = Path(zip_path) if zip_path is not None else None
    if dest_p is not None:
        _check_dest(bundle, dest_p)
    if zip_p is not None and zip_p.resolve().parent in (bundle.root.resolve(), bundle.data.resolve()):
        raise UserError(f"--zip {zip_p}: write the zip outside the bundle it copies")
    res = ShareResult(dest=dest_p, zip=zip_p)
    snapshot = baked_labels(bundle)
    res.labelled, res.excluded = len(snapshot["labels"]), len(snapshot["excluded"])

    rewritten = _rewritten(bundle, snapshot, res)
    files = list(_viewer_files()) + [(rel, src) for rel, src in _data_files(bundle) if rel not in rewritten]
    files = [(rel, src) for rel, src in files if src.is_file()]  # dangling originals were reported above
    # A gzip sibling of a rewritten file would be stale: drop it (the uncompressed file is there).
    files = [(rel, src) for rel, src in files if not (rel.endswith(".gz") and rel[:-3] in rewritten)]
    total = len(files) + len(rewritten)

    tmp_dir = tmp_zip = None
    try:
        if dest_p is not None:
            dest_p.parent.mkdir(parents=True, exist_ok=True)
            tmp_dir = Path(tempfile.mkdtemp(prefix=f".{dest_p.name}.", suffix=".partial", dir=dest_p.parent))
            os.chmod(tmp_dir, dir_mode())
        zf = None
        if zip_p is not None:
            zip_p.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{zip_p.name}.", suffix=".partial", dir=zip_p.parent)
            os.close(fd)
            tmp_zip = Path(name)
            zf = zipfile.ZipFile(tmp_zip, "w", allowZip64=True)
        sink = _Sink(tmp_dir, zf)
        try:
            _copy_into(sink, files, rewritten, res, total, progress)
        finally:
            if zf is not None:
                zf.close()
        if progress:
            progress(total, total)
        res.files, res.bytes = sink.files, sink.bytes
        if tmp_dir is not None:
            for d, _dirs, _files in os.walk(tmp_dir):
                os.chmod(d, dir_mode())
            if dest_p.exists():
                dest_p.rmdir()  # empty, checked above
            os.replace(tmp_dir, dest_p)
            tmp_dir = None
        if tmp_zip is not None:
            os.chmod(tmp_zip, file_mode())
            os.replace(tmp_zip, zip_p)
            tmp_zip = None
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        if tmp_zip is not None:
            tmp_zip.unlink(missing_ok=True)
    return res


def summary(res: ShareResult) -> str:
    where = " and ".join(str(p) for p in (res.dest, res.zip) if p is not None)
    line = (f"pixplot: shared copy at {where}: {res.files} files ({res.bytes / 1e6:.1f} MB), "
            f"{res.originals} originals copied, {res.labelled} labelled and {res.excluded} excluded items baked in "
            "(read-only); no annotation database, cache or local paths")
    if res.originals_missing:
        shown = ", ".join(res.originals_missing[:3]) + (" ..." if len(res.originals_missing) > 3 else "")
        line += (f"\npixplot: {len(res.originals_missing)} originals could not be found (source moved?): {shown}; "
                 "their detail view shows the preview")
    return line

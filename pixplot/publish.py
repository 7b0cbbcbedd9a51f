"""PixPlot's small publishing flags: ``--copy_web_only`` and ``--gzip``.

``--copy_web_only`` refreshes the viewer (``index.html``, ``assets/``) of an existing bundle without
touching its data: after upgrading pixplot, an old bundle gets the new viewer in a second.

``--gzip`` writes a precompressed ``<file>.gz`` beside each JSON, CSV and binary layout/cluster
file of ``data/``. Unlike PixPlot, which replaced the files (so the viewer had to know), the plain
files stay: a static host that serves precompressed siblings (nginx ``gzip_static``, Caddy
``precompressed``, most CDNs) sends the small one to browsers that accept gzip, and any other host
still serves the plain file. The archives are byte-reproducible (no timestamp, no name).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from pixplot.bundle import copy_viewer
from pixplot.errors import UserError
from pixplot.fsutil import atomic_write_bytes

#: Files worth compressing: text and uncompressed binary arrays (images are compressed already).
GZIP_SUFFIXES = (".json", ".csv", ".f32", ".i32", ".f16", ".npy")
#: Below this, a .gz saves nothing worth a second file.
GZIP_MIN_BYTES = 1024


def refresh_viewer(out: str | Path) -> int:
    """``--copy_web_only``: the new viewer for an existing bundle, its data untouched."""
    out = Path(out)
    if not (out / "data" / "manifest.json").is_file():
        raise UserError(f"--copy_web_only: {out} is not a bundle (no data/manifest.json); build it first, "
                        "or give its folder with --out_dir")
    return copy_viewer(out)


def gzip_siblings(data_dir: str | Path) -> tuple[int, int, int]:
    """``--gzip``: write ``X.gz`` beside every compressible file of ``data_dir`` (stale ones
    replaced, those of deleted files removed). Returns (files, bytes before, bytes after)."""
    data = Path(data_dir)
    files = before = after = 0
    for gz in data.rglob("*.gz"):
        if not Path(str(gz)[:-3]).exists():
            gz.unlink()
    for p in sorted(data.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in GZIP_SUFFIXES or p.name.startswith("."):
            continue
        raw = p.read_bytes()
        if len(raw) < GZIP_MIN_BYTES:
            Path(f"{p}.gz").unlink(missing_ok=True)
            continue
        packed = gzip.compress(raw, compresslevel=9, mtime=0)
        atomic_write_bytes(Path(f"{p}.gz"), packed)
        files += 1
        before += len(raw)
        after += len(packed)
    return files, before, after


def remove_gzip_siblings(data_dir: str | Path) -> int:
    """A build without ``--gzip`` removes the siblings an earlier ``--gzip`` build left, which
    a host would otherwise serve in place of the new files."""
    n = 0
    for gz in Path(data_dir).rglob("*.gz"):
        if gz.suffixes[-2:-1] and gz.suffixes[-2].lower() in GZIP_SUFFIXES:
            gz.unlink()
            n += 1
    return n

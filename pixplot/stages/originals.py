"""Originals: link (relative symlink) or copy each source image into ``data/originals/`` for the
viewer's detail view, converting formats browsers cannot show to JPEG. S3 objects are always
copied (there is nothing to link to)."""

from __future__ import annotations

import os
from typing import Any

from pixplot.fsutil import atomic_write_bytes
from pixplot.imageio import encode_jpeg, open_image
from pixplot.plan import BuildPlan
from pixplot.sources import is_s3
from pixplot.sources import read as read_source

WEB_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp"}


def run(plan: BuildPlan, good: list, items: list[dict[str, Any]]) -> None:
    """Write ``originals/<sha16>.<ext>`` for each used file and set each item's ``original``."""
    mode = plan.options.originals
    if mode == "none":
        return
    odir = plan.data / "originals"
    odir.mkdir(parents=True, exist_ok=True)
    by_sha: dict[str, str] = {}
    for f, row in good:
        ext = WEB_FORMATS.get(row.get("format") or "")
        name = f"{row['sha256'][:16]}{ext or '.jpg'}"
        target = odir / name
        by_sha[row["sha256"]] = f"originals/{name}"
        if target.exists() or target.is_symlink():
            continue
        remote = is_s3(f.path)
        if ext is None:
            src = read_source(f.path).data if remote else str(f.path)
            atomic_write_bytes(target, encode_jpeg(open_image(src, max_side=4096), quality=90))
        elif mode == "copy" or remote:
            atomic_write_bytes(target, read_source(str(f.path)).data)
        else:
            tmp = odir / f".{name}.tmp"
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(os.path.relpath(f.path, odir), tmp)
            os.replace(tmp, target)
    for it in items:
        it["original"] = by_sha.get(it["sha256"])

"""Synthetic bundles (docs/bundle.md) made from numpy alone: coloured cells at known coordinates.

The viewer's tests and benchmark need bundles of any size, from a handful of items at chosen places
to a million, without images, models or a build; this writes them directly in the bundle format.
"""

from __future__ import annotations

import colorsys
import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pixplot.errors import UserError
from pixplot.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text

WEB = Path(__file__).parent / "web"


def cluster_rgb(c: int) -> tuple[int, int, int]:
    """A distinct colour per cluster (grey for noise), used for the cells."""
    if c < 0:
        return (128, 128, 128)
    r, g, b = colorsys.hsv_to_rgb((c * 0.618034 + 0.1) % 1.0, 0.75, 0.95)
    return (int(r * 255), int(g * 255), int(b * 255))


def _normalise(xy: np.ndarray) -> np.ndarray:
    """Centre on 0 and scale so the longer axis spans [-1, 1] (the layout contract)."""
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    return ((xy - (lo + hi) / 2) * (2.0 / span)).astype("<f4")


def _blobs(n: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, k, n).astype("<i4")
    angle = np.arange(k) * (2 * np.pi / max(k, 1))
    radius = 1.0 + 0.35 * (np.arange(k) % 3)
    centres = np.stack([np.cos(angle) * radius, np.sin(angle) * radius], axis=1)
    spread = 0.9 / np.sqrt(max(k, 1))
    xy = centres[labels] + rng.normal(0, spread * 0.45, (n, 2))
    noise = rng.random(n) < 0.02
    labels[noise] = -1
    return xy, labels


def _grid(n: int) -> np.ndarray:
    side = int(np.ceil(np.sqrt(max(n, 1))))
    i = np.arange(n)
    xy = np.stack([i % side, -(i // side)], axis=1).astype(np.float64)
    return _normalise(xy) if n > 1 else np.zeros((n, 2), "<f4")


def _atlas_images(colours: np.ndarray, cell: int, cols: int, per: int, size: int) -> list[bytes]:
    """JPEG sheets; each item's cell is its colour with a dark frame (centred, full cell)."""
    out = []
    n = len(colours)
    for start in range(0, max(n, 1), per):
        chunk = colours[start : start + per]
        rows = size // cell
        grid = np.zeros((rows * cols, 3), np.uint8)
        grid[: len(chunk)] = chunk
        sheet = np.zeros((rows, cell, cols, cell, 3), np.uint8)
        sheet[:] = grid.reshape(rows, cols, 3)[:, None, :, None, :]
        f = max(1, cell // 10)
        sheet[:, :f] = sheet[:, :f] // 3
        sheet[:, -f:] = sheet[:, -f:] // 3
        sheet[:, :, :, :f] = sheet[:, :, :, :f] // 3
        sheet[:, :, :, -f:] = sheet[:, :, :, -f:] // 3
        img = Image.fromarray(sheet.reshape(rows * cell, cols * cell, 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def _jpeg(colour: tuple[int, int, int], size: int, mark: bool = True) -> bytes:
    img = Image.new("RGB", (size, size), colour)
    if mark:
        d = ImageDraw.Draw(img)
        d.line([(0, 0), (size, size)], fill=(255, 255, 255), width=max(1, size // 16))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def write_synthetic_bundle(
    out: str | Path,
    n: int = 100,
    *,
    clusters: int = 8,
    seed: int = 0,
    positions: np.ndarray | None = None,
    cluster_labels: np.ndarray | None = None,
    cell_size: int = 32,
    atlas_size: int = 2048,
    thumbs: bool | None = None,
    detections: bool = False,
    web: bool = True,
) -> Path:
    """Write a valid bundle of `n` coloured items to `out` and return its path.

    `positions` (n, 2) places items exactly (already in layout units; not rescaled) and
    `cluster_labels` (n,) fixes their clusters; otherwise both are random blobs. Previews in
    `thumbs/` are written for small bundles only (default: n <= 5000).
    """
    out = Path(out)
    rng = np.random.default_rng(seed)
    if positions is not None:
        xy = np.asarray(positions, dtype="<f4").reshape(-1, 2)
        n = len(xy)
        labels = (np.asarray(cluster_labels, dtype="<i4") if cluster_labels is not None
                  else np.zeros(n, "<i4"))
    else:
        raw, labels = _blobs(n, clusters, rng)
        xy = _normalise(raw)
        if cluster_labels is not None:
            labels = np.asarray(cluster_labels, dtype="<i4")
    if len(labels) != n:
        raise UserError(f"{out}: cluster_labels has {len(labels)} entries for {n} positions; pass one per item")
    if thumbs is None:
        thumbs = n <= 5000
    data = out / "data"
    for sub in ("layouts", "clusters", "atlases"):
        (data / sub).mkdir(parents=True, exist_ok=True)

    ids = [hashlib.sha256(f"synthetic:{seed}:{i}".encode()).hexdigest()[:16] for i in range(n)]
    shas = [hashlib.sha256(f"file:{seed}:{i}".encode()).hexdigest() for i in range(n)]
    palette = np.array([cluster_rgb(c) for c in range(int(labels.max(initial=-1)) + 1)] + [cluster_rgb(-1)],
                       np.uint8)
    shade = (0.7 + 0.3 * rng.random(n))[:, None]
    colours = (palette[labels] * shade).astype(np.uint8)
    categories = np.array(["cat", "dog", "bird"])

    records = []
    for i in range(n):
        rec = {
            "id": ids[i], "source": f"img_{i:07d}.jpg", "sha256": shas[i], "width": 64, "height": 64,
            "box": None, "landmarks": None, "score": None, "class": None,
            "thumb": f"thumbs/{ids[i]}.jpg", "original": None, "cell": [cell_size, cell_size],
            "meta": {"category": str(categories[i % 3])},
        }
        if detections:
            rec.update(box=[16, 16, 64, 64], landmarks=[[32, 40], [64, 40]], score=0.99, **{"class": "face"},
                       original=f"originals/{shas[i][:16]}.jpg", width=64, height=64)
        records.append(rec)
    atomic_write_text(data / "items.json", json.dumps({"items": records}, separators=(",", ":")))

    emb = rng.normal(size=(n, 8)).astype("<f4")
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    buf = io.BytesIO()
    np.save(buf, emb)
    atomic_write_bytes(data / "embeddings.npy", buf.getvalue())
    atomic_write_bytes(data / "layouts" / "umap.f32", xy.astype("<f4").tobytes())
    atomic_write_bytes(data / "layouts" / "grid.f32", _grid(n).tobytes())
    atomic_write_bytes(data / "clusters" / "kmeans.i32", labels.astype("<i4").tobytes())

    k = int(labels.max(initial=-1)) + 1
    members: list[list[str]] = [[] for _ in range(k)]
    for i, c in enumerate(labels.tolist()):
        if c >= 0:
            members[c].append(ids[i])
    cl = [{"id": c, "size": len(m), "members": m, "representative": m[0] if m else None,
           "cohesion": round(0.5 + 0.5 * ((c * 37) % 10) / 10, 3)} for c, m in enumerate(members)]
    noise = [ids[i] for i in np.flatnonzero(labels < 0)]
    atomic_write_json(data / "clusters" / "kmeans.json",
                      {"name": "kmeans", "method": "kmeans", "on": "umap", "params": {"k": k},
                       "clusters": cl, "noise": noise})

    cols = atlas_size // cell_size
    per = cols * cols
    sheets = _atlas_images(colours, cell_size, cols, per, atlas_size)
    files = []
    for a, jpg in enumerate(sheets):
        atomic_write_bytes(data / "atlases" / f"{a}.jpg", jpg)
        files.append(f"atlases/{a}.jpg")
    if thumbs:
        (data / "thumbs").mkdir(exist_ok=True)
        for i in range(n):
            (data / "thumbs" / f"{ids[i]}.jpg").write_bytes(_jpeg(tuple(int(v) for v in colours[i]), 128))
    if detections:
        (data / "originals").mkdir(exist_ok=True)
        for i in range(n):
            (data / "originals" / f"{shas[i][:16]}.jpg").write_bytes(_jpeg(tuple(int(v) for v in colours[i]), 96))
    with io.StringIO() as s:
        csv.writer(s).writerow(["path", "reason"])
        atomic_write_text(data / "skipped.csv", s.getvalue())

    manifest = {
        "format": "pixplot-bundle", "format_version": 1, "pixplot_version": "0.1.0",
        "created": f"synthetic-{seed}-{n}",
        "counts": {"items": n, "images": n, "skipped": 0, "noise": len(noise)},
        "options": {"synthetic": True, "seed": seed},
        "detector": {"name": "synthetic", "id": "synthetic@1{}"} if detections else None,
        "embedder": {"name": "synthetic", "id": "synthetic@1{}", "dim": 8},
        "items": "items.json", "embeddings": "embeddings.npy", "skipped": "skipped.csv",
        "layouts": [{"name": "umap", "file": "layouts/umap.f32"}, {"name": "grid", "file": "layouts/grid.f32"}],
        "default_layout": "umap",
        "clusterings": [{"name": "kmeans", "file": "clusters/kmeans.json", "labels": "clusters/kmeans.i32",
                         "method": "kmeans", "on": "umap", "count": k, "noise": len(noise)}],
        "default_clustering": "kmeans",
        "atlas": {"size": atlas_size, "cell_size": cell_size, "cols": cols, "per_atlas": per, "files": files},
        "thumbs": {"dir": "thumbs", "size": 128},
        "metadata_fields": ["category"],
    }
    atomic_write_json(data / "manifest.json", manifest, indent=1)
    if web:
        copy_viewer(out)
    return out


def copy_viewer(out: str | Path) -> None:
    """Put the viewer (index.html, assets/) at the bundle root, next to data/."""
    shutil.copytree(WEB, Path(out), dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))

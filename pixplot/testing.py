"""Test bundles (docs/bundle.md) made from numpy alone: coloured cells at known coordinates.

The viewer's tests and benchmark need bundles of any size, from a handful of items at chosen places
to a million, without images, models or a build. They are written through the build's own
:class:`~pixplot.bundle.BundleWriter`, so they follow the format by construction.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pixplot.bundle import AtlasGeometry, BundleWriter, Manifest
from pixplot.errors import UserError
from pixplot.project import normalize_layout


def cluster_rgb(c: int) -> tuple[int, int, int]:
    """A distinct colour per cluster (grey for noise), used for the cells."""
    if c < 0:
        return (128, 128, 128)
    r, g, b = colorsys.hsv_to_rgb((c * 0.618034 + 0.1) % 1.0, 0.75, 0.95)
    return (int(r * 255), int(g * 255), int(b * 255))


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
    return normalize_layout(xy) if n > 1 else np.zeros((n, 2), "<f4")


def _atlas_images(colours: np.ndarray, geo: AtlasGeometry) -> list[bytes]:
    """JPEG sheets laid out as :class:`AtlasGeometry` says; each item's cell is its colour with a
    dark frame (centred, full cell). Drawn with numpy, which a million items need."""
    out = []
    cell, cols, per, size = geo.cell_size, geo.cols, geo.per_atlas, geo.size
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
        xy = normalize_layout(raw)
        if cluster_labels is not None:
            labels = np.asarray(cluster_labels, dtype="<i4")
    if len(labels) != n:
        raise UserError(f"{out}: cluster_labels has {len(labels)} entries for {n} positions; pass one per item")
    if thumbs is None:
        thumbs = n <= 5000
    w = BundleWriter(out)
    data = w.data

    ids = [hashlib.sha256(f"synthetic:{seed}:{i}".encode()).hexdigest()[:16] for i in range(n)]
    shas = [hashlib.sha256(f"file:{seed}:{i}".encode()).hexdigest() for i in range(n)]
    palette = np.array([cluster_rgb(c) for c in range(int(labels.max(initial=-1)) + 1)] + [cluster_rgb(-1)],
                       np.uint8)
    shade = (0.7 + 0.3 * rng.random(n))[:, None]
    colours = (palette[labels] * shade).astype(np.uint8)
    w.items(_records(ids, shas, cell_size, detections))

    emb = rng.normal(size=(n, 8)).astype("<f4")
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    w.embeddings(emb)
    w.layout("umap", xy)
    w.layout("grid", _grid(n))

    k = int(labels.max(initial=-1)) + 1
    members: list[list[str]] = [[] for _ in range(k)]
    for i, c in enumerate(labels.tolist()):
        if c >= 0:
            members[c].append(ids[i])
    cl = [{"id": c, "size": len(m), "members": m, "representative": m[0] if m else None,
           "cohesion": round(0.5 + 0.5 * ((c * 37) % 10) / 10, 3)} for c, m in enumerate(members)]
    w.clustering("kmeans", labels, cl, ids, method="kmeans", on="umap", params={"k": k})

    geo = AtlasGeometry.for_items(max(n, 1), cell_size, atlas_size)
    _write_images(data, geo, colours, ids, shas, thumbs=thumbs, originals=detections)
    w.skipped([])
    if web:
        w.viewer()
    w.finish(Manifest(
        created=f"synthetic-{seed}-{n}",
        counts={"items": n, "images": n, "skipped": 0, "noise": int((labels < 0).sum())},
        options={"synthetic": True, "seed": seed},
        detector={"name": "synthetic", "id": "synthetic@1{}"} if detections else None,
        embedder={"name": "synthetic", "id": "synthetic@1{}", "dim": 8},
        layouts=w.layouts, clusterings=w.clusterings, atlas=geo.to_json(),
        thumbs={"dir": "thumbs", "size": 128}, metadata_fields=["category"],
    ))
    return out


def _records(ids: list[str], shas: list[str], cell_size: int, detections: bool) -> list[dict]:
    """Item records as the build writes them; with `detections`, each item is a face in its own original."""
    categories = ("cat", "dog", "bird")
    records = []
    for i, (iid, sha) in enumerate(zip(ids, shas, strict=True)):
        rec = {
            "id": iid, "source": f"img_{i:07d}.jpg", "sha256": sha, "width": 64, "height": 64,
            "box": None, "landmarks": None, "score": None, "class": None,
            "thumb": f"thumbs/{iid}.jpg", "original": None, "cell": [cell_size, cell_size],
            "meta": {"category": categories[i % 3]},
        }
        if detections:
            rec.update(box=[16, 16, 64, 64], landmarks=[[32, 40], [64, 40]], score=0.99, **{"class": "face"},
                       original=f"originals/{sha[:16]}.jpg", width=64, height=64)
        records.append(rec)
    return records


def _write_images(data: Path, geo: AtlasGeometry, colours: np.ndarray, ids: list[str], shas: list[str], *,
                  thumbs: bool, originals: bool) -> None:
    """Atlas sheets always; previews and originals (plain colour squares) when asked for."""
    for file, jpg in zip(geo.files, _atlas_images(colours, geo), strict=True):
        (data / file).parent.mkdir(exist_ok=True)
        (data / file).write_bytes(jpg)
    rgb = [tuple(int(v) for v in c) for c in colours]
    if thumbs:
        (data / "thumbs").mkdir(exist_ok=True)
        for iid, c in zip(ids, rgb, strict=True):
            (data / "thumbs" / f"{iid}.jpg").write_bytes(_jpeg(c, 128))
    if originals:
        (data / "originals").mkdir(exist_ok=True)
        for sha, c in zip(shas, rgb, strict=True):
            (data / "originals" / f"{sha[:16]}.jpg").write_bytes(_jpeg(c, 96))

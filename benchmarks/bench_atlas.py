"""Thumbnails + atlases for generated 1-megapixel JPEGs: our stage against a PixPlot-style baseline.

Ours: pixplot.work.ingest_batch (hash, JPEG draft decode, preview) and atlas_batch on the local
executor (every core). Baseline, in the same run: what PixPlot does — one process, full decode of
each image, then resize to the preview and to the atlas cell.
Usage: python benchmarks/bench_atlas.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pixplot.executor import LocalExecutor
from pixplot.work import atlas_batch, ingest_batch, item_id

THUMB, CELL, ATLAS = 256, 32, 2048


def make_images(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (866, 1155, 3), dtype=np.uint8)
    paths = []
    for i in range(n):
        arr = np.roll(base, i * 7, axis=1)
        arr[:, :, i % 3] //= 2
        p = folder / f"img_{i:05d}.jpg"
        Image.fromarray(arr).save(p, quality=90)
        paths.append(p)
    return paths


def baseline(paths: list[Path], out: Path) -> None:
    """PixPlot's way: decode every image in full, then resize (one process)."""
    out.mkdir(parents=True, exist_ok=True)
    cols = ATLAS // CELL
    sheet = Image.new("RGB", (ATLAS, ATLAS))
    for k, p in enumerate(paths):
        im = Image.open(p).convert("RGB")
        w, h = im.size
        f = THUMB / max(w, h)
        im.resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS).save(out / f"{k}.jpg", quality=85)
        f = CELL / max(w, h)
        cell = im.resize((round(w * f), round(h * f)), Image.Resampling.LANCZOS)
        j = k % (cols * cols)
        sheet.paste(cell, ((j % cols) * CELL, (j // cols) * CELL))
        if j == cols * cols - 1 or k == len(paths) - 1:
            sheet.save(out / f"atlas_{k // (cols * cols)}.jpg", quality=88)


def ours(paths: list[Path], out: Path) -> None:
    thumbs = out / "thumbs"
    ex = LocalExecutor()
    files = [(str(p), p.name) for p in paths]
    rows = []
    for got in ex.map_unordered(ingest_batch, [(files[i:i + 32], str(thumbs), THUMB)
                                               for i in range(0, len(files), 32)]):
        rows.extend(got)
    by_rel = {r["rel"]: r for r in rows}
    ids = [item_id(by_rel[p.name]["sha256"]) for p in paths]
    per = (ATLAS // CELL) ** 2
    list(ex.map_unordered(atlas_batch, [([str(thumbs / f"{i}.jpg") for i in ids[k:k + per]],
                                         str(out / f"atlas_{k // per}.jpg"), CELL, ATLAS, ATLAS // CELL)
                                        for k in range(0, len(ids), per)]))
    ex.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_atlas_"))
    try:
        paths = make_images(tmp / "src", args.n) if (tmp / "src").mkdir() is None else []
        t = time.perf_counter()
        baseline(paths, tmp / "base")
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        ours(paths, tmp / "ours")
        t_ours = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r = {"images": args.n, "megapixels": 1.0, "baseline_s": round(t_base, 2), "ours_s": round(t_ours, 2),
         "baseline_img_per_s": round(args.n / t_base, 1), "ours_img_per_s": round(args.n / t_ours, 1),
         "ratio": round(t_base / t_ours, 2), "workers": LocalExecutor().workers}
    out = Path(__file__).parent / "results" / "bench_atlas.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(r, indent=1))
    print(f"bench_atlas: {args.n} x 1 MP JPEGs: ours {r['ours_img_per_s']} img/s, PixPlot-style baseline "
          f"{r['baseline_img_per_s']} img/s, ratio {r['ratio']}x ({r['workers']} workers)")


if __name__ == "__main__":
    main()

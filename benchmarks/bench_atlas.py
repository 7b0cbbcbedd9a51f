"""Thumbnails + atlases for generated 1-megapixel JPEGs: our stage against a PixPlot-style baseline.

Ours: pixplot.work.ingest_batch (hash, JPEG draft decode, preview) and atlas_batch on the local
executor (every core). Baseline, in the same run: what PixPlot does — one process, full decode of
each image, then resize to the preview and to the atlas cell.
Usage: python benchmarks/bench_atlas.py [--n 2000] [--content photo,noise]
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


def make_images(folder: Path, n: int, content: str = "photo") -> list[Path]:
    """``photo``: smooth scenes with sensor-like grain (about 260 KB each at quality 90, like a
    1 MP camera photo); ``noise``: uniform noise (about 850 KB each, the worst case for any
    JPEG decoder because entropy decoding, which draft mode cannot skip, dominates)."""
    rng = np.random.default_rng(0)
    if content == "noise":
        base = rng.integers(0, 255, (866, 1155, 3), dtype=np.uint8)
    else:
        small = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
        smooth = np.asarray(small.resize((1155, 866), Image.Resampling.BICUBIC), dtype=np.float32)
        base = np.clip(smooth + rng.normal(0, 6, smooth.shape), 0, 255).astype(np.uint8)
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


def run(n: int, content: str) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench_atlas_"))
    try:
        (tmp / "src").mkdir()
        paths = make_images(tmp / "src", n, content)
        kb = sum(p.stat().st_size for p in paths) / n / 1e3
        t = time.perf_counter()
        baseline(paths, tmp / "base")
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        ours(paths, tmp / "ours")
        t_ours = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"content": content, "images": n, "megapixels": 1.0, "mean_kb": round(kb),
            "baseline_s": round(t_base, 2), "ours_s": round(t_ours, 2),
            "baseline_img_per_s": round(n / t_base, 1), "ours_img_per_s": round(n / t_ours, 1),
            "ratio": round(t_base / t_ours, 2), "workers": LocalExecutor().workers}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--content", default="photo,noise", help="photo, noise, or both (comma-separated)")
    args = ap.parse_args()
    results = [run(args.n, c) for c in args.content.split(",")]
    out = Path(__file__).parent / "results" / "bench_atlas.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print("bench_atlas: " + "; ".join(
        f"{r['images']} x 1 MP {r['content']} JPEGs ({r['mean_kb']} KB): ours {r['ours_img_per_s']} img/s, "
        f"PixPlot-style baseline {r['baseline_img_per_s']} img/s, ratio {r['ratio']}x ({r['workers']} workers)"
        for r in results))


if __name__ == "__main__":
    main()

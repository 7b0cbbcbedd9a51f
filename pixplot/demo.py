"""`pixplot demo`: a labelled sample collection made offline from scikit-learn's digits."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image


def make_digits(folder: Path, size: int = 64, limit: int | None = None) -> tuple[Path, Path]:
    """Write scikit-learn's 8x8 handwritten digits as ``size``-pixel PNGs, one folder per digit,
    and a PixPlot metadata CSV with the digit as ``category``. Returns (images dir, CSV)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = folder / "images"
    rows = []
    n = len(digits.images) if limit is None else min(limit, len(digits.images))
    for i in range(n):
        img, target = digits.images[i], int(digits.target[i])
        arr = (255 - img / 16.0 * 255).clip(0, 255).astype(np.uint8)  # dark ink on paper
        im = Image.fromarray(arr).resize((size, size), Image.Resampling.BICUBIC)
        rel = f"{target}/digit_{i:04d}.png"
        path = images / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            im.save(path)
        rows.append({"filename": rel, "category": str(target), "tags": f"digit|{target}",
                     "description": f"handwritten {target}, sample {i}", "label": str(target)})
    meta = folder / "metadata.csv"
    with meta.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["filename", "category", "tags", "description", "label"])
        w.writeheader()
        w.writerows(rows)
    return images, meta

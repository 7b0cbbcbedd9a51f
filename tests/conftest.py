"""Shared test helpers: small real images made on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def synthetic_photo(kind: int, seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture from one of three visually distinct families (for clustering tests)."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 0:  # warm blobs
        img = np.zeros((h, w, 3), np.float32)
        img[..., 0] = 200 + 40 * np.sin(x / 17 + rng.uniform(0, 6))
        img[..., 1] = 90 + 30 * np.cos(y / 13)
        for _ in range(3):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 30)
            img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = [250, 200, 40]
    elif kind == 1:  # cool vertical stripes
        period = rng.uniform(6, 10)
        s = (np.sin(x / period * np.pi + rng.uniform(0, 3)) > 0).astype(np.float32)
        img = np.stack([30 + 20 * s, 60 + 60 * s, 160 + 90 * s], axis=-1)
    else:  # green checkerboard
        c = rng.integers(10, 16)
        s = (((x // c) + (y // c)) % 2).astype(np.float32)
        img = np.stack([40 + 40 * s, 120 + 110 * s, 40 + 30 * s], axis=-1)
    img += rng.normal(0, 8, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def write_collection(folder: Path, per_class: int = 12, start: int = 0, fmt: str = "jpg") -> list[Path]:
    """``per_class`` images of each of three families under ``folder/<family>/``."""
    paths = []
    for kind, name in enumerate(["warm", "stripes", "checks"]):
        for i in range(start, start + per_class):
            p = folder / name / f"{name}_{i:03d}.{fmt}"
            p.parent.mkdir(parents=True, exist_ok=True)
            synthetic_photo(kind, seed=1000 * kind + i).save(p)
            paths.append(p)
    return paths


def write_bad_files(folder: Path) -> dict[str, str]:
    """Broken files and the word their skip reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    good = folder / "_tmp.jpg"
    synthetic_photo(0, 99, (400, 300)).save(good, quality=95)
    data = good.read_bytes()
    good.unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "notes.txt").write_text("not an image\n")
    Image.new("1", (10000, 9000)).save(folder / "bomb.png")  # 90 Mpx, a few KB on disk
    return {"empty.jpg": "empty", "truncated.jpg": "truncated", "notes.txt": "not an image",
            "bomb.png": "decompression bomb"}


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    write_collection(folder)
    return folder

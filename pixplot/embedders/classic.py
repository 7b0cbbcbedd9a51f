"""A model-free embedder: colour, gradient orientation and a tiny picture, in ~1 ms an image.

Three blocks, each L2-normalised then weighted, so none dominates by dimension:
- a hue/saturation/value histogram (what colours, in what proportion),
- a HOG-style grid of gradient orientation histograms (shape and texture),
- a 6x6 colour thumbnail, mean-centred (layout of light and colour).
Histograms are square-rooted (Hellinger), which makes Euclidean/cosine distances on them
behave like a proper histogram distance. Deterministic and offline.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from pixplot.plugins import Embedder, ItemImage

SIDE = 64


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _hsv_hist(im: Image.Image, bins: tuple[int, int, int]) -> np.ndarray:
    hsv = np.asarray(im.convert("HSV"), dtype=np.uint16)
    h = hsv[..., 0] * bins[0] // 256
    s = hsv[..., 1] * bins[1] // 256
    v = hsv[..., 2] * bins[2] // 256
    idx = (h * bins[1] + s) * bins[2] + v
    hist = np.bincount(idx.ravel(), minlength=bins[0] * bins[1] * bins[2]).astype(np.float32)
    return np.sqrt(hist / hist.sum())


def _hog(gray: np.ndarray, cells: int, orientations: int) -> np.ndarray:
    gy, gx = np.gradient(gray)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned orientation
    b = np.minimum((ang / np.pi * orientations).astype(np.int64), orientations - 1)
    n = gray.shape[0]
    cell = n // cells
    rows = np.arange(n) // cell
    cid = rows[:, None] * cells + rows[None, :]
    idx = (cid * orientations + b).ravel()
    hist = np.bincount(idx, weights=mag.ravel(), minlength=cells * cells * orientations)
    hist = hist.reshape(cells * cells, orientations)
    hist /= np.linalg.norm(hist, axis=1, keepdims=True) + 1e-6
    return np.sqrt(hist.ravel()).astype(np.float32)


class ClassicEmbedder(Embedder):
    """Colour histogram + HOG grid + tiny image; fast, deterministic, no model."""

    name: ClassVar[str] = "classic"
    version: ClassVar[str] = "1"
    input_size: ClassVar[int] = 128
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size",)

    def __init__(self, color_weight: float = 1.0, hog_weight: float = 1.0, tiny_weight: float = 0.7,
                 batch_size: int = 64):
        self.color_weight = color_weight
        self.hog_weight = hog_weight
        self.tiny_weight = tiny_weight
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return 8 * 3 * 3 + 4 * 4 * 9 + 6 * 6 * 3

    def embed_one(self, im: Image.Image) -> np.ndarray:
        im = im.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BILINEAR)
        color = _hsv_hist(im, (8, 3, 3))
        gray = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
        hog = _hog(gray, cells=4, orientations=9)
        tiny = np.asarray(im.resize((6, 6), Image.Resampling.BOX), dtype=np.float32).ravel() / 255.0
        tiny = tiny - tiny.mean()
        return np.concatenate([
            self.color_weight * _unit(color),
            self.hog_weight * _unit(hog),
            self.tiny_weight * _unit(tiny),
        ]).astype(np.float32)

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.embed_one(it.image) for it in batch])

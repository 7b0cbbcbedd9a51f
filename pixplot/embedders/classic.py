"""A model-free embedder that groups pictures by what they show, not where it sits: ~2 ms an image.

The picture is first centred on its subject: the background colour is the median of the border
pixels, the subject is what differs from it, and the features that carry layout are computed on
a square crop around the subject (the whole picture when nothing stands out, as in most photos).
So the same object moved or scaled on a plain background gives nearly the same vector.

Blocks, each L2-normalised then weighted, so none dominates by dimension:
- subject colours: a hue/saturation/value histogram of the subject's pixels (what colour the thing is),
- scene colours: the same histogram over the whole picture,
- gradient orientation as a spatial pyramid on the crop: 1x1 (global), 2x2 and 4x4 cells (HOG-style),
- rotation-tolerant shape: the magnitudes of the Fourier transform of the global orientation
  histogram (unchanged when the histogram is circularly shifted, i.e. the object rotated) and a
  histogram of the subject's pixel distances from its centroid, relative to their RMS (unchanged
  by position, scale and rotation: a disc, a square and a triangle differ),
- a 6x6 colour thumbnail of the crop, mean-centred (layout within the subject).
Histograms are square-rooted (Hellinger), which makes Euclidean/cosine distances on them
behave like a proper histogram distance. Deterministic and offline.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from pixplot.plugins import Embedder, ItemImage

SIDE = 64
#: A pixel belongs to the subject when a channel differs from the background by more than this (0-255).
SUBJECT_DIFF = 40
ORIENTATIONS = 9
RADIAL_BINS = 10
COLOR_BINS = (8, 3, 3)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def _hsv_hist(hsv: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    b = COLOR_BINS
    h = hsv[..., 0].astype(np.int64) * b[0] // 256
    s = hsv[..., 1].astype(np.int64) * b[1] // 256
    v = hsv[..., 2].astype(np.int64) * b[2] // 256
    idx = ((h * b[1] + s) * b[2] + v).ravel()
    hist = np.bincount(idx, weights=None if weights is None else weights.ravel(),
                       minlength=b[0] * b[1] * b[2]).astype(np.float32)
    total = hist.sum()
    return np.sqrt(hist / total) if total > 0 else hist


def _orientation_cells(gray: np.ndarray, cells: int) -> np.ndarray:
    """(cells*cells, ORIENTATIONS) gradient-magnitude-weighted orientation histograms."""
    gy, gx = np.gradient(gray)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned orientation
    b = np.minimum((ang / np.pi * ORIENTATIONS).astype(np.int64), ORIENTATIONS - 1)
    n = gray.shape[0]
    rows = np.minimum(np.arange(n) * cells // n, cells - 1)
    cid = rows[:, None] * cells + rows[None, :]
    idx = (cid * ORIENTATIONS + b).ravel()
    hist = np.bincount(idx, weights=mag.ravel(), minlength=cells * cells * ORIENTATIONS)
    return hist.reshape(cells * cells, ORIENTATIONS)


def _hog_pyramid(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Square-rooted, per-cell normalised orientation histograms at 1x1, 2x2 and 4x4; and the
    global (1x1) histogram for the rotation-tolerant block."""
    fine = _orientation_cells(gray, 4)  # 16 cells; coarser levels are sums of them
    g = fine.reshape(2, 2, 2, 2, ORIENTATIONS)  # (row2, row-in, col2, col-in, o)
    mid = g.sum(axis=(1, 3)).reshape(4, ORIENTATIONS)
    top = fine.sum(axis=0, keepdims=True)
    levels = []
    for h in (top, mid, fine):
        h = h / (np.linalg.norm(h, axis=1, keepdims=True) + 1e-6)
        levels.append(np.sqrt(h).ravel())
    return np.concatenate(levels).astype(np.float32), top[0]


def _subject(rgb: np.ndarray) -> tuple[np.ndarray | None, tuple[int, int, int, int] | None]:
    """The subject's mask and its square bounding box (x0, y0, x1, y1), or (None, None) when
    nothing stands out from the border colour (or everything does)."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int16)
    bg = np.median(border, axis=0)
    diff = np.abs(rgb.astype(np.int16) - bg).max(axis=2)
    mask = diff > SUBJECT_DIFF
    frac = mask.mean()
    if frac < 0.005 or frac > 0.9:
        return None, None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    half = max(y1 - y0, x1 - x0) * 0.55 + 1
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    return mask, (int(cx - half), int(cy - half), int(np.ceil(cx + half)), int(np.ceil(cy + half)))


def _radial(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    d = np.hypot(ys - ys.mean(), xs - xs.mean())
    rms = np.sqrt((d * d).mean())
    if rms <= 0:
        return np.zeros(RADIAL_BINS, np.float32)
    hist = np.histogram(d / rms, bins=RADIAL_BINS, range=(0, 2.0))[0].astype(np.float32)
    return np.sqrt(hist / hist.sum())


class ClassicEmbedder(Embedder):
    """Subject-centred colour, orientation pyramid, rotation-tolerant shape and a tiny image."""

    name: ClassVar[str] = "classic"
    version: ClassVar[str] = "2"
    input_size: ClassVar[int] = 128
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size",)

    def __init__(self, color_weight: float = 1.0, scene_weight: float = 0.25, hog_weight: float = 1.0,
                 shape_weight: float = 1.0, tiny_weight: float = 0.5, batch_size: int = 64):
        self.color_weight = color_weight
        self.scene_weight = scene_weight
        self.hog_weight = hog_weight
        self.shape_weight = shape_weight
        self.tiny_weight = tiny_weight
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        color = COLOR_BINS[0] * COLOR_BINS[1] * COLOR_BINS[2]
        return 2 * color + 21 * ORIENTATIONS + (ORIENTATIONS // 2 + 1) + RADIAL_BINS + 6 * 6 * 3

    def embed_one(self, im: Image.Image) -> np.ndarray:
        im = im.convert("RGB")
        small = im.resize((SIDE, SIDE), Image.Resampling.BILINEAR)
        rgb = np.asarray(small)
        hsv = np.asarray(small.convert("HSV"))
        mask, box = _subject(rgb)
        scene = _hsv_hist(hsv)
        if mask is None:
            crop, color, radial = small, scene, np.zeros(RADIAL_BINS, np.float32)
        else:
            sx, sy = im.width / SIDE, im.height / SIDE
            x0, y0, x1, y1 = box
            crop = im.crop((x0 * sx, y0 * sy, x1 * sx, y1 * sy)).resize((SIDE, SIDE), Image.Resampling.BILINEAR)
            color = _hsv_hist(hsv, mask.astype(np.float32))
            radial = _radial(mask)
        gray = np.asarray(crop.convert("L"), dtype=np.float32) / 255.0
        hog, global_orient = _hog_pyramid(gray)
        spectrum = np.abs(np.fft.rfft(global_orient / (global_orient.sum() + 1e-6))).astype(np.float32)
        tiny = np.asarray(crop.resize((6, 6), Image.Resampling.BOX), dtype=np.float32).ravel() / 255.0
        tiny = tiny - tiny.mean()
        return np.concatenate([
            self.color_weight * _unit(color),
            self.scene_weight * _unit(scene),
            self.hog_weight * _unit(hog),
            self.shape_weight * _unit(np.concatenate([spectrum, radial])),
            self.tiny_weight * _unit(tiny),
        ]).astype(np.float32)

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        if not batch:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.embed_one(it.image) for it in batch])

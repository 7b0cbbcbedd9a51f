"""Multi-face test images with known answers, built from faces that ship in scikit-image.

Real face pixels (the astronaut of ``skimage.data.astronaut()`` and the 100 faces of
``skimage.data.lfw_subset()``) are upscaled and pasted into larger canvases at known
positions, sizes and flips, so detection can be scored by IoU and embeddings by identity
without downloading a data set. ``lfw_subset`` has no identity labels: each of its faces
counts as its own identity (LFW repeats a few people, so a pair of "different" faces may
in rare cases be one person).

Used by the tests in ``tests/seeen_ext/faces`` and by ``benchmarks/bench_faces.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

Box = tuple[int, int, int, int]  # x, y, w, h

#: The astronaut's face inside ``astronaut()``: a square tile framed like the LFW faces
#: (brows to chin, cheek to cheek).
ASTRONAUT_FACE: Box = (170, 72, 110, 110)


@dataclass
class Composite:
    """One generated image and the faces pasted into it."""

    image: Image.Image
    boxes: list[Box] = field(default_factory=list)
    identities: list[str] = field(default_factory=list)
    flipped: list[bool] = field(default_factory=list)


@lru_cache(maxsize=1)
def _lfw() -> np.ndarray:
    from skimage import data

    return data.lfw_subset()  # (200, 25, 25) float in [0, 1]: 100 faces, then 100 non-faces


def _to_rgb(a: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(a, 0, 1) * 255).round().astype(np.uint8)).convert("RGB")


def face_tiles() -> list[tuple[Image.Image, str]]:
    """Every available face as a (small, native-resolution) RGB tile with its identity."""
    from skimage import data

    x, y, w, h = ASTRONAUT_FACE
    tiles = [(Image.fromarray(data.astronaut()).crop((x, y, x + w, y + h)), "astronaut")]
    faces = _lfw()[:100]
    tiles += [(_to_rgb(f), f"lfw{i:03d}") for i, f in enumerate(faces)]
    return tiles


def nonface_tiles() -> list[Image.Image]:
    """Patches of LFW's negative set: walls, clothes, backgrounds, with no face."""
    return [_to_rgb(a) for a in _lfw()[100:]]


def nonface_images() -> list[Image.Image]:
    """Whole photographs from scikit-image with no human face (a cat, a cup, a rocket...)."""
    from skimage import data

    arrays = [data.coffee(), data.chelsea(), data.rocket(), data.brick(), data.grass(), data.coins()]
    return [Image.fromarray(a).convert("RGB") for a in arrays]


def background(size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A smooth colour gradient with mild noise: plain enough to hold no face."""
    w, h = size
    c0, c1 = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    t = np.linspace(0, 1, w)[None, :, None] * 0.6 + np.linspace(0, 1, h)[:, None, None] * 0.4
    img = c0 * (1 - t) + c1 * t + rng.normal(0, 6, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def augment(tile: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """A mild variation of a face: small rotation, shift, contrast, brightness and blur."""
    s = strength
    w, h = tile.size
    big = tile.resize((w * 4, h * 4), Image.BICUBIC)
    angle = rng.uniform(-8, 8) * s
    dx, dy = rng.uniform(-0.04, 0.04, 2) * s * big.width
    out = big.rotate(angle, resample=Image.BICUBIC, translate=(dx, dy), fillcolor=_edge_colour(big))
    out = ImageEnhance.Brightness(out).enhance(1 + rng.uniform(-0.15, 0.15) * s)
    out = ImageEnhance.Contrast(out).enhance(1 + rng.uniform(-0.15, 0.15) * s)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5) * s))
    return out.resize((w, h), Image.LANCZOS)


def _edge_colour(img: Image.Image) -> tuple[int, ...]:
    a = np.asarray(img)
    edge = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return tuple(int(v) for v in edge.mean(axis=0))


def paste_faces(
    canvas: Image.Image,
    tiles: list[tuple[Image.Image, str]],
    sizes: list[int],
    rng: np.random.Generator,
    flip_prob: float = 0.5,
) -> Composite:
    """Paste each tile, upscaled to its size, at a random spot of its own cell of the canvas.

    The canvas is split into a grid with a cell per face, so faces never overlap (a gap of
    a tenth of a cell separates them); a size larger than its cell shrinks to fit.
    """
    out = Composite(canvas.copy())
    W, H = canvas.size
    n = len(tiles)
    cols = max(1, math.ceil(math.sqrt(n * W / H)))
    rows = math.ceil(n / cols)
    cw, ch = W // cols, H // rows
    cells = rng.permutation(cols * rows)[:n]
    for (tile, ident), size, cell in zip(tiles, sizes, cells, strict=True):
        px, py = cw // 20, ch // 20  # a gap between neighbours
        size = min(size, cw - 2 * px, ch - 2 * py)
        x0, y0 = int(cell % cols) * cw + px, int(cell // cols) * ch + py
        x = x0 + int(rng.integers(0, cw - 2 * px - size + 1))
        y = y0 + int(rng.integers(0, ch - 2 * py - size + 1))
        flip = bool(rng.random() < flip_prob)
        face = tile.resize((size, size), Image.BICUBIC)
        out.image.paste(ImageOps.mirror(face) if flip else face, (x, y))
        out.boxes.append((x, y, size, size))
        out.identities.append(ident)
        out.flipped.append(flip)
    return out


def make_composites(
    n_images: int,
    faces_per_image: int = 3,
    canvas: tuple[int, int] = (640, 480),
    size_range: tuple[int, int] = (90, 170),
    seed: int = 0,
) -> list[Composite]:
    """``n_images`` canvases, each holding distinct faces at random sizes, places and flips."""
    rng = np.random.default_rng(seed)
    tiles = face_tiles()
    order = rng.permutation(len(tiles))
    out, k = [], 0
    for _ in range(n_images):
        pick = [tiles[order[(k + j) % len(tiles)]] for j in range(faces_per_image)]
        k += faces_per_image
        sizes = [int(rng.integers(size_range[0], size_range[1] + 1)) for _ in pick]
        out.append(paste_faces(background(canvas, rng), pick, sizes, rng))
    return out


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(truth: list[Box], found: list[tuple[float, ...]], min_iou: float = 0.5) -> list[int | None]:
    """For each true box, the index of the found box that overlaps it best (greedy), or None."""
    pairs = sorted(
        ((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True
    )
    out: list[int | None] = [None] * len(truth)
    used: set[int] = set()
    for v, i, j in pairs:
        if v < min_iou:
            break
        if out[i] is None and j not in used:
            out[i] = j
            used.add(j)
    return out

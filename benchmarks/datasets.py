"""Labelled image sets for measuring embedders and clustering, built offline and reproducibly.

Every picture comes from a package already on the machine (nothing is downloaded, nothing
third-party is committed); the class comes from a bundled table, folder or generator:

- ``shapes`` (generated): 12 classes, 4 colours x 3 shapes, each drawn here at a random position,
  size and rotation on a plain light background;
- ``digits`` (real, scanned): scikit-learn's bundled handwritten digits, 10 classes;
- ``emoji`` (real, drawn): Debian's ``fonts-noto-color-emoji`` rendered with Pillow, 9 classes: the
  Unicode emoji groups of ``unicode-data``'s emoji-test.txt;
- ``icons`` (real, drawn): Debian's ``papirus-icon-theme`` 64x64 SVGs rasterised with cairosvg, 4
  classes: the theme's contexts (apps, devices, mimetypes, places);
- ``faces`` (real photos): scikit-image's LFW faces (seeen_ext.faces.synthetic, the faces the
  composites of bench_annotation are made of), augmented views of each, one class per identity.

Sampling is seeded and from sorted listings, so a set is the same on every machine with the
same packages. ``python benchmarks/datasets.py --out DIR`` writes ``DIR/<set>/<class>/<n>.png``
(an ImageFolder: ``pixplot evaluate --images DIR/emoji --truth-folders`` scores it);
:func:`load` returns the images in memory for benchmarks/bench_quality.py.

Debian packages: ``apt-get install fonts-noto-color-emoji unicode-data papirus-icon-theme``;
PyPI: ``pip install cairosvg`` (icons only). A set whose package is missing is skipped with a
one-line reason.
"""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
ICON_THEME = Path("/usr/share/icons/Papirus/64x64")
ICON_CONTEXTS = ("apps", "devices", "mimetypes", "places")

COLOURS = {"red": (210, 40, 40), "green": (40, 160, 60), "blue": (40, 70, 200), "yellow": (230, 200, 30)}
SHAPES = ("circle", "square", "triangle")


class Unavailable(Exception):
    """A set's source package is not installed."""


Dataset = tuple[list[Image.Image], list[str]]


# ---------------------------------------------------------------------------- generated


def shape_image(colour: str, shape: str, rng: np.random.Generator, side: int = 128) -> Image.Image:
    """One ``colour`` ``shape`` at a random place, size (12-30 % of the side as radius) and
    rotation, on a random light grey background; the colour jitters a little."""
    bg = tuple(int(v) for v in rng.integers(215, 250, 3))
    im = Image.new("RGB", (side, side), bg)
    d = ImageDraw.Draw(im)
    r = rng.uniform(0.12, 0.3) * side
    cx, cy = rng.uniform(r + 2, side - r - 2, 2)
    rot = rng.uniform(0, 2 * np.pi)
    col = tuple(int(np.clip(c + rng.normal(0, 12), 0, 255)) for c in COLOURS[colour])
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
    else:
        k = 4 if shape == "square" else 3
        d.polygon([(cx + r * np.cos(rot + 2 * np.pi * j / k), cy + r * np.sin(rot + 2 * np.pi * j / k))
                   for j in range(k)], fill=col)
    return im


def shapes(per_class: int = 20, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for c in COLOURS:
        for s in SHAPES:
            for _ in range(per_class):
                images.append(shape_image(c, s, rng))
                labels.append(f"{c} {s}")
    return images, labels


# ---------------------------------------------------------------------------- real


def _stratified(labels: list[str], per_class: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    arr = np.array(labels)
    for lab in sorted(set(labels)):
        idx = np.flatnonzero(arr == lab)
        keep += sorted(rng.choice(idx, min(per_class, len(idx)), replace=False).tolist())
    return sorted(keep)


def digits(per_class: int = 50, seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits, dark ink on white, upscaled to 64x64 (as `pixplot demo` draws them)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    labels = [str(t) for t in d.target]
    keep = _stratified(labels, per_class, seed)
    images = [Image.fromarray((255 - d.images[i] * 16).clip(0, 255).astype(np.uint8)).resize(
        (64, 64), Image.Resampling.NEAREST).convert("RGB") for i in keep]
    return images, [labels[i] for i in keep]


def emoji_table() -> list[tuple[str, str]]:
    """(emoji, group) for every fully-qualified emoji without a skin-tone modifier."""
    if not EMOJI_TEST.is_file():
        raise Unavailable(f"{EMOJI_TEST} missing: apt-get install unicode-data")
    out, group = [], ""
    for line in EMOJI_TEST.read_text(encoding="utf-8").splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line and group != "Component":
            cps = line.split(";")[0].split()
            if any(0x1F3FB <= int(c, 16) <= 0x1F3FF for c in cps):
                continue  # skin tones: near-duplicates of the base emoji
            out.append(("".join(chr(int(c, 16)) for c in cps), group))
    return out


def emoji(per_class: int = 40, seed: int = 0) -> Dataset:
    """Emoji drawn from Noto Color Emoji (its bitmaps are 109 px), on white, by Unicode group."""
    from PIL import ImageFont

    if not EMOJI_FONT.is_file():
        raise Unavailable(f"{EMOJI_FONT} missing: apt-get install fonts-noto-color-emoji")
    table = emoji_table()
    font = ImageFont.truetype(str(EMOJI_FONT), 109)
    keep = _stratified([g for _, g in table], per_class * 2, seed)  # spare ones for glyphs the font lacks
    images, labels, count = [], [], {}
    for i in keep:
        ch, group = table[i]
        if count.get(group, 0) >= per_class:
            continue
        im = Image.new("RGB", (136, 128), "white")
        ImageDraw.Draw(im).text((0, 0), ch, font=font, embedded_color=True)
        if np.asarray(im).min() > 250:  # nothing drawn
            continue
        images.append(im)
        labels.append(group)
        count[group] = count.get(group, 0) + 1
    return images, labels


def icons(per_class: int = 60, seed: int = 0) -> Dataset:
    """Papirus icons by context; symbolic links (aliases of another icon) are left out."""
    if not ICON_THEME.is_dir():
        raise Unavailable(f"{ICON_THEME} missing: apt-get install papirus-icon-theme")
    try:
        import cairosvg
    except ImportError as exc:  # cairosvg needs the cairo library too
        raise Unavailable(f"cairosvg cannot be imported ({exc}): pip install cairosvg") from exc
    files, labels = [], []
    for ctx in ICON_CONTEXTS:
        for p in sorted((ICON_THEME / ctx).glob("*.svg")):
            if not p.is_symlink():
                files.append(p)
                labels.append(ctx)
    images, out_labels = [], []
    for i in _stratified(labels, per_class, seed):
        png = cairosvg.svg2png(url=str(files[i]), output_width=128, output_height=128)
        rgba = Image.open(io.BytesIO(png)).convert("RGBA")
        im = Image.new("RGB", rgba.size, "white")
        im.paste(rgba, mask=rgba.getchannel("A"))
        images.append(im)
        out_labels.append(labels[i])
    return images, out_labels


def faces(identities: int = 30, views: int = 6, seed: int = 0) -> Dataset:
    """``views`` augmented views (rotation, shift, contrast, blur) of each of ``identities``
    faces from scikit-image's LFW sample, the same faces bench_annotation pastes into composites."""
    from seeen_ext.faces import synthetic as S

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for tile, ident in S.face_tiles()[:identities]:
        for v in range(views):
            im = tile if v == 0 else S.augment(tile, rng)
            images.append(im.convert("RGB").resize((128, 128), Image.Resampling.BICUBIC))
            labels.append(ident)
    return images, labels


SETS: dict[str, Callable[..., Dataset]] = {"shapes": shapes, "digits": digits, "emoji": emoji, "icons": icons,
                                           "faces": faces}
REAL = ("digits", "emoji", "icons", "faces")


def load(name: str, **kw: int) -> Dataset:
    if name not in SETS:
        raise SystemExit(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    return SETS[name](**kw)


def write(name: str, out: Path) -> int:
    images, labels = load(name)
    for i, (im, lab) in enumerate(zip(images, labels, strict=True)):
        folder = out / name / re.sub(r"[^A-Za-z0-9]+", "_", lab).strip("_")
        folder.mkdir(parents=True, exist_ok=True)
        im.save(folder / f"{i:05d}.png")
    return len(images)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/pixplot-datasets")
    ap.add_argument("--sets", default=",".join(SETS))
    args = ap.parse_args()
    for name in args.sets.split(","):
        try:
            n = write(name, Path(args.out))
            print(f"{name}: {n} images in {Path(args.out) / name}")
        except Unavailable as exc:
            print(f"{name}: skipped: {exc}")


if __name__ == "__main__":
    main()

"""Safe image decoding: one bad file is a reason to skip, never a crash.

Honours EXIF orientation, converts CMYK / 16-bit / palette / alpha images to RGB, decodes
JPEGs at reduced size (draft mode) when only a small image is needed, and refuses
decompression bombs.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Pillow's own bomb limit (~89 Mpx warns, twice that errors); we refuse at the warning.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


#: Input files above this many bytes are refused unread (``--max_file_size``). Generous: an image
#: at the pixel limit above, 16-bit RGBA and uncompressed, is about 0.7 GiB.
DEFAULT_MAX_FILE_SIZE = 1 << 30


class BadImage(Exception):
    """A file that cannot be used as an image; ``str(exc)`` is the reason for skipped.csv."""


def sniff_image(fp: BinaryIO) -> None:
    """Refuse a file whose header no image format recognises, or that declares more than
    ``MAX_PIXELS``, having read only its header (Pillow opens lazily)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(fp) as im:
                w, h = im.size
        except UnidentifiedImageError as exc:
            raise BadImage("not an image (unknown format)") from exc
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise BadImage(f"decompression bomb refused ({exc})") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise BadImage(f"corrupt image ({str(exc) or type(exc).__name__})") from exc
    if w * h > MAX_PIXELS:
        raise BadImage(f"decompression bomb refused ({w}x{h} pixels)")


def parse_size(text: str) -> int:
    """``1G``, ``200M``, ``64k`` or plain bytes, as bytes (binary multiples)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(t[-1:] if t else "", 1)
    num = t[:-1] if mult != 1 else t
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use bytes, or a number with K, M or G)") from None
    if value <= 0:
        raise ValueError(f"not a size: {text!r} (must be positive)")
    return int(value * mult)


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is composited onto white."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if im.mode.startswith("I;16") and hi <= 65535 and lo >= 0:
            lo, hi = 0.0, 65535.0 if hi > 255 else 255.0
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        arr8 = np.clip((arr - lo) * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8).convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im).convert("RGB")
    return im.convert("RGB")


def open_image(source: str | Path | bytes, max_side: int | None = None) -> Image.Image:
    """Decode an image to RGB, EXIF-oriented; with ``max_side``, at least that large but no larger
    than needed (JPEG draft decoding), then downscaled to fit ``max_side``.

    Raises :class:`BadImage` with a short reason for anything unusable.
    """
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise BadImage("empty file")
        fp: io.BytesIO | Path = io.BytesIO(source)
    else:
        fp = Path(source)
        try:
            if fp.stat().st_size == 0:
                raise BadImage("empty file")
        except OSError as exc:
            raise BadImage(f"unreadable ({exc.strerror or exc})") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(fp)
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise BadImage(f"decompression bomb refused ({w}x{h} pixels)")
            if max_side and im.format == "JPEG":
                # Draft scales both axes alike, so asking for the longer side to reach max_side
                # (the shorter in proportion) holds whatever the EXIF orientation does later.
                f = max_side / max(w, h)
                if f < 1:
                    im.draft("RGB", (math.ceil(w * f), math.ceil(h * f)))
            im.load()
            im = ImageOps.exif_transpose(im)
            im = to_rgb(im)
            if max_side and max(im.size) > max_side:
                im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=None)
            return im
        except BadImage:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise BadImage(f"decompression bomb refused ({exc})") from exc
        except UnidentifiedImageError as exc:
            raise BadImage("not an image (unknown format)") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            msg = str(exc) or type(exc).__name__
            if "truncated" in msg:
                msg = "truncated image data"
            raise BadImage(f"corrupt image ({msg})") from exc


def full_size(source: str | Path | bytes) -> tuple[int, int]:
    """(width, height) after EXIF orientation, without decoding pixels."""
    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    with Image.open(fp) as im:
        w, h = im.size
        try:
            orientation = im.getexif().get(0x0112, 1)
        except Exception:
            orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def crop_box(
    size: tuple[int, int], box: tuple[float, float, float, float], margin: float
) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) crop around ``box`` with ``margin`` times its size on each
    side, clipped to the image."""
    x, y, w, h = box
    mx, my = w * margin, h * margin
    left = max(0, int(round(x - mx)))
    top = max(0, int(round(y - my)))
    right = min(size[0], int(round(x + w + mx)))
    bottom = min(size[1], int(round(y + h + my)))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def load_item_image(
    source: str | Path | bytes,
    box: tuple[float, float, float, float] | None = None,
    margin: float = 0.2,
    max_side: int | None = None,
) -> tuple[Image.Image, float, tuple[int, int]]:
    """An item's picture: the whole image, or the crop around a detection box.

    Returns the RGB image, the scale from source pixels to its pixels, and the (left, top) of
    the crop in source pixels, so callers can map boxes and landmarks into it.
    """
    if box is None:
        im = open_image(source, max_side=max_side)
        full = full_size(source) if max_side else im.size
        return im, im.size[0] / max(full[0], 1), (0, 0)
    full = full_size(source)
    # Decode just large enough that the crop still has max_side pixels.
    need = None
    if max_side:
        crop_side = max(box[2], box[3]) * (1 + 2 * margin)
        need = int(max(full) * max_side / max(crop_side, 1)) + 1
        if need >= max(full):
            need = None
    im = open_image(source, max_side=need)
    s = im.size[0] / max(full[0], 1)
    left, top, right, bottom = crop_box(full, box, margin)
    crop = im.crop((int(left * s), int(top * s), max(int(right * s), int(left * s) + 1),
                    max(int(bottom * s), int(top * s) + 1)))
    if max_side and max(crop.size) > max_side:
        f = max_side / max(crop.size)
        crop = crop.resize((max(1, round(crop.size[0] * f)), max(1, round(crop.size[1] * f))),
                           Image.Resampling.BILINEAR)
    return crop, crop.size[0] / (right - left), (left, top)


def encode_jpeg(im: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=False)
    return buf.getvalue()

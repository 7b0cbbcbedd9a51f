"""The per-item stages as pure functions over a batch: paths in, facts and files out.

They never touch the cache or the pipeline; an executor runs them anywhere (this process,
a process pool, a cluster) and the driver stores what they return.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pixplot.fsutil import atomic_write_bytes, file_kind
from pixplot.imageio import (
    DEFAULT_MAX_FILE_SIZE,
    BadImage,
    encode_jpeg,
    full_size,
    load_item_image,
    open_image,
    sniff_image,
)
from pixplot.plugins import SOURCE_SCALE, Detection, Detector, Embedder, ItemImage
from pixplot.sources import Blob, TooLarge, image_source, is_s3, read


def _source(path: str) -> str | bytes:
    """A local path as it is, or an S3 object's bytes; a failed read is a bad image."""
    try:
        return image_source(path)
    except OSError as exc:
        raise BadImage(f"unreadable ({exc.strerror or exc})") from exc


def item_id(sha256: str, box: list[float] | tuple[float, ...] | None = None) -> str:
    """Stable id: the file's content hash, plus the rounded box for a detection."""
    if box is None:
        return sha256[:16]
    key = f"{sha256}:" + ",".join(str(int(round(v))) for v in box)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def read_input(path: str, max_size: int | None = DEFAULT_MAX_FILE_SIZE) -> Blob:
    """The bytes of one input file or object, refusing before reading it whole: anything that
    is not a regular file (a pipe would block forever), anything above ``max_size``, and a
    local file whose header no image format recognises. Raises :class:`BadImage` with the reason.
    """
    try:
        if is_s3(path):
            blob = read(path, max_size)
            if not blob.data:
                raise BadImage("empty file")
            sniff_image(io.BytesIO(blob.data))
            return blob
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise BadImage(f"not a regular file ({file_kind(st.st_mode)})")
        # O_NONBLOCK: should the path have become a pipe since, opening it still returns at once.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise BadImage(f"not a regular file ({file_kind(st.st_mode)})")
            if max_size is not None and st.st_size > max_size:
                raise TooLarge(st.st_size, max_size)
            if st.st_size == 0:
                raise BadImage("empty file")
            sniff_image(f)
            f.seek(0)
            return Blob(f.read(), st.st_size, st.st_mtime_ns)
    except TooLarge as exc:
        raise BadImage(f"too large ({exc.size:,} bytes; the cap is {exc.cap:,}, "
                       "change it with --max_file_size)") from exc


def ingest_batch(files: list[tuple[str, str]], thumbs_dir: str | None, thumb_size: int,
                 max_file_size: int | None = DEFAULT_MAX_FILE_SIZE) -> list[dict]:
    """Hash and decode each file; with ``thumbs_dir``, write its preview ``<id>.jpg``.

    Decoding uses JPEG draft mode at the thumbnail size, which also proves the whole file
    decodes (truncation is caught). Returns one row per file, with ``error`` set for a bad one.
    """
    rows = []
    for path, rel in files:
        row: dict[str, Any] = {"rel": rel, "size": None, "mtime_ns": None, "sha256": None, "width": None,
                               "height": None, "format": None, "error": None, "thumb_size": None}
        try:
            blob = read_input(path, max_file_size)  # a local path or an s3:// URL
            row["size"], row["mtime_ns"], data = blob.size, blob.mtime_ns, blob.data
            row["sha256"] = hashlib.sha256(data).hexdigest()
            im = open_image(data, max_side=thumb_size)
            w, h = full_size(data)
            row["width"], row["height"] = w, h
            with Image.open(io.BytesIO(data)) as probe:
                row["format"] = probe.format
            if thumbs_dir:
                out = Path(thumbs_dir) / f"{item_id(row['sha256'])}.jpg"
                if not out.exists():
                    atomic_write_bytes(out, encode_jpeg(im))
                row["thumb_size"] = thumb_size
        except BadImage as exc:
            row["error"] = str(exc)
        except OSError as exc:
            row["error"] = f"unreadable ({exc.strerror or exc})"
        rows.append(row)
    return rows


def detect_batch(detector: Detector, files: list[tuple[str, str]]) -> list[tuple[str, list[dict]]]:
    """Run the detector on each (path, sha256); boxes come back in full-size pixels."""
    images, shas, scales = [], [], []
    out: list[tuple[str, list[dict]]] = []
    for path, sha in files:
        try:
            src = _source(path)
            im = open_image(src, max_side=detector.max_side)
        except BadImage:
            out.append((sha, []))
            continue
        w, _ = full_size(src)
        im.info[SOURCE_SCALE] = w / im.size[0]
        images.append(im)
        shas.append(sha)
        scales.append(w / im.size[0])
    if images:
        for sha, s, dets in zip(shas, scales, detector.detect(images), strict=True):
            scaled = [
                Detection(
                    box=tuple(v * s for v in d.box),
                    score=d.score,
                    landmarks=None if d.landmarks is None else tuple((x * s, y * s) for x, y in d.landmarks),
                    label=d.label,
                ).to_json()
                for d in dets
            ]
            out.append((sha, scaled))
    return out


def crop_thumbs_batch(specs: list[tuple[str, str, list[float]]], thumbs_dir: str, thumb_size: int,
                      margin: float) -> list[tuple[str, str | None]]:
    """Write ``<id>.jpg`` previews of detection crops; returns (id, error) pairs."""
    out = []
    for path, iid, box in specs:
        target = Path(thumbs_dir) / f"{iid}.jpg"
        if target.exists():
            out.append((iid, None))
            continue
        try:
            crop, _, _ = load_item_image(_source(path), tuple(box), margin, max_side=thumb_size)
            atomic_write_bytes(target, encode_jpeg(crop))
            out.append((iid, None))
        except BadImage as exc:
            out.append((iid, str(exc)))
    return out


def embed_batch(embedder: Embedder, specs: list[tuple[str, str, list | None, list | None]],
                margin: float) -> tuple[list[str], np.ndarray]:
    """Embed items given as (id, path, box, landmarks); returns ids and L2-normalised vectors."""
    ids, batch = [], []
    for iid, path, box, landmarks in specs:
        try:
            im, s, (left, top) = load_item_image(_source(path), None if box is None else tuple(box), margin,
                                                 max_side=embedder.input_size)
        except BadImage:
            continue
        cbox = None if box is None else ((box[0] - left) * s, (box[1] - top) * s, box[2] * s, box[3] * s)
        clm = None if landmarks is None else tuple(((x - left) * s, (y - top) * s) for x, y in landmarks)
        ids.append(iid)
        batch.append(ItemImage(image=im, box=cbox, landmarks=clm))
    vecs = np.asarray(embedder.embed(batch), dtype=np.float32).reshape(len(batch), -1)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = vecs / np.where(norms > 0, norms, 1)
    return ids, vecs


def atlas_batch(thumbs: list[str], out_path: str, cell_size: int, size: int, cols: int) -> list[list[int]]:
    """Pack previews into one atlas image; returns each thumbnail's [cw, ch] in its cell."""
    sheet = Image.new("RGB", (size, size), (0, 0, 0))
    cells = []
    for k, thumb in enumerate(thumbs):
        try:
            im = open_image(thumb, max_side=cell_size)
        except BadImage:
            im = Image.new("RGB", (cell_size, cell_size), (64, 64, 64))
        if max(im.size) != cell_size:  # small images grow to fill the cell
            f = cell_size / max(im.size)
            im = im.resize((max(1, round(im.size[0] * f)), max(1, round(im.size[1] * f))),
                           Image.Resampling.BILINEAR)
        cw, ch = im.size
        x = (k % cols) * cell_size + (cell_size - cw) // 2
        y = (k // cols) * cell_size + (cell_size - ch) // 2
        sheet.paste(im, (x, y))
        cells.append([cw, ch])
    atomic_write_bytes(out_path, encode_jpeg(sheet, quality=88))
    return cells

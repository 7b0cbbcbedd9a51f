"""Find the input files and read PixPlot's metadata CSV."""

from __future__ import annotations

import csv
import glob
import io
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixplot.errors import UserError
from pixplot.sources import client as s3_client
from pixplot.sources import is_s3, split_s3
from pixplot.sources import mtime_ns as s3_mtime_ns
from pixplot.sources import read as read_source

_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class SourceFile:
    path: Path | str  # absolute Path, or an s3:// URL
    rel: str  # relative to the images root, POSIX separators
    size: int | None = None  # known from an S3 listing (a local file is stat'ed when needed)
    mtime_ns: int | None = None


def _root_of_glob(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def find_images(images: str, max_images: int | None = None, shuffle: bool = False,
                seed: int = 24) -> tuple[Path, list[SourceFile]]:
    """Files named by ``--images``: a folder (searched recursively) or a glob.

    Every non-hidden file counts; unreadable ones are skipped later with a reason, so a
    user sees every file that did not make it into the map. Order is sorted by path, so
    builds are deterministic; ``shuffle`` reorders with ``seed`` before ``max_images``.
    """
    if is_s3(images):
        return images, _pick(list_s3(images), max_images, shuffle, seed)
    p = Path(images).expanduser()
    if p.is_dir():
        root = p
        paths = [
            Path(dirpath) / name
            for dirpath, dirnames, filenames in os.walk(p, followlinks=True)
            for name in filenames
            if not name.startswith(".")
            and not any(part.startswith(".") for part in Path(dirpath).relative_to(p).parts)
        ]
    elif _GLOB_CHARS & set(images):
        root = _root_of_glob(str(p))
        paths = [Path(x) for x in glob.glob(str(p), recursive=True) if Path(x).is_file()]
    elif p.is_file():
        root = p.parent
        paths = [p]
    else:
        raise UserError(f"--images {images}: no such folder or file, and not a glob pattern")
    root = root.resolve()
    files = sorted(
        {SourceFile(q.resolve(), q.resolve().relative_to(root).as_posix()) for q in paths},
        key=lambda f: f.rel,
    )
    if not files:
        raise UserError(f"--images {images}: no files found")
    return root, _pick(files, max_images, shuffle, seed)


def _pick(files: list[SourceFile], max_images: int | None, shuffle: bool, seed: int) -> list[SourceFile]:
    if shuffle:
        random.Random(seed).shuffle(files)
    if max_images:
        files = files[:max_images]
    if shuffle:  # keep item order canonical: selection is random, order stays sorted
        files.sort(key=lambda f: f.rel)
    return files


def list_s3(url: str, page_size: int | None = None) -> list[SourceFile]:
    """Every object under an ``s3://bucket/prefix/`` (paginated), named relative to the prefix,
    skipping hidden names and folder markers as a folder walk would."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3(url)
    if not bucket:
        raise UserError(f"--images {url}: name a bucket, as in s3://bucket/prefix/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    files = []
    try:
        pages = s3_client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size} if page_size else {})
        for page in pages:
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix):]
                if not rel or rel.endswith("/") or any(part.startswith(".") for part in rel.split("/")):
                    continue
                files.append(SourceFile(f"s3://{bucket}/{obj['Key']}", rel, int(obj["Size"]),
                                        s3_mtime_ns(obj["LastModified"])))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise UserError(f"--images {url}: S3 said {code}; check the bucket name, --endpoint-url and "
                        "credentials (--profile or AWS_* variables)") from exc
    except BotoCoreError as exc:
        raise UserError(f"--images {url}: cannot list ({exc}); check --endpoint-url and credentials") from exc
    if not files:
        raise UserError(f"--images {url}: no objects under this prefix")
    return sorted(files, key=lambda f: f.rel)


def read_metadata(path: str, rels: list[str]) -> tuple[dict[str, dict[str, Any]], list[str], int]:
    """Read PixPlot's metadata CSV and match rows to files.

    A row's ``filename`` matches a file's path relative to the images root, or its basename
    when that basename is unique. Returns (rel -> metadata, field names, unmatched row count).
    Images without a row are kept (upstream PixPlot dropped them).
    """
    text = _metadata_text(path)
    by_base: dict[str, list[str]] = {}
    for rel in rels:
        by_base.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)
    relset = set(rels)
    try:
        with io.StringIO(text, newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "filename" not in [h.strip().lower() for h in reader.fieldnames]:
                raise UserError(f"--metadata {path}: needs a 'filename' column (PixPlot's format)")
            rows = list(reader)
    except csv.Error as exc:
        raise UserError(f"--metadata {path}: malformed CSV ({exc})") from exc
    fields: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    unmatched = 0
    for row in rows:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name = row.pop("filename", "").replace("\\", "/").lstrip("./")
        rel = name if name in relset else None
        if rel is None:
            cands = by_base.get(name.rsplit("/", 1)[-1], [])
            rel = cands[0] if len(cands) == 1 else None
        if rel is None:
            unmatched += 1
            continue
        meta: dict[str, Any] = {}
        for k, v in row.items():
            if v == "":
                continue
            if k == "tags":
                meta[k] = [t.strip() for t in v.split("|") if t.strip()]
            elif k in ("lat", "lng"):
                try:
                    meta[k] = float(v)
                except ValueError:
                    meta[k] = v
            else:
                meta[k] = v
            if k not in fields:
                fields.append(k)
        out[rel] = meta
    return out, fields, unmatched


def _metadata_text(path: str) -> str:
    """The CSV's text, from a file or an S3 object."""
    if not is_s3(path) and not Path(path).is_file():
        raise UserError(f"--metadata {path}: file not found")
    try:
        data = read_source(path).data
    except OSError as exc:
        raise UserError(f"--metadata {path}: cannot read ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"--metadata {path}: not UTF-8 text ({exc.reason})") from exc

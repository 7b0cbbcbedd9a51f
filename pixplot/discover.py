"""Find the input files and read PixPlot's metadata CSV.

Discovery follows symbolic links (a folder of links into a photo library is common) but never
loops, never opens anything, and names every path it cannot use: a link loop, a dangling
link, a named pipe, socket or device. A file reached by several paths (a link to a file that
is also in the tree, two links to one file) becomes one item; each other path is listed as a
duplicate of it, and metadata rows written for any of its names reach the item.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import random
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixplot.errors import UserError
from pixplot.fsutil import file_kind
from pixplot.sources import client as s3_client
from pixplot.sources import is_s3, split_s3
from pixplot.sources import mtime_ns as s3_mtime_ns
from pixplot.sources import read as read_source

_GLOB_CHARS = set("*?[")

#: Metadata cells longer than this many characters are cut (with a warning): a 1 MB description
#: would otherwise be copied into items.json and every viewer download.
MAX_CELL_CHARS = 10_000
#: Python's csv module refuses fields above 128 KiB by default; cells are truncated instead.
_CSV_FIELD_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class SourceFile:
    path: Path | str  # absolute Path (links resolved), or an s3:// URL
    rel: str  # the name under the images root, POSIX separators (a link keeps its own name)
    size: int | None = None  # known from an S3 listing (a local file is stat'ed when needed)
    mtime_ns: int | None = None


@dataclass
class Found:
    """What discovery found: the files to read, and every path it will not read, with why."""

    root: Path | str
    files: list[SourceFile]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) for skipped.csv
    aliases: dict[str, str] = field(default_factory=dict)  # a skipped duplicate's rel -> the kept rel


def _link_problem(path: str, exc: OSError) -> str:
    """The skipped.csv reason for a link that cannot be followed."""
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"dangling symlink (its target {target} does not exist)"
    return f"unreadable symlink ({exc.strerror or exc})"


class _Walker:
    """Walks a folder, following links to files and folders, each folder once.

    The tree itself is walked first without following any link, so a file inside the tree is
    always listed under its own name; links are followed afterwards, in name order. Files and
    folders are known by (device, inode), so a second path to one is seen without reading it.
    """

    def __init__(self, root: Path, max_depth: int | None = None):
        self.root = root
        self.max_depth = max_depth
        self.entries: list[tuple[str, str, bool, tuple[int, int]]] = []  # rel, path, via a link, (dev, ino)
        self.skipped: list[tuple[str, str]] = []
        self.folder_skips: list[tuple[str, str]] = []  # links to folders that are not followed
        self.walked: dict[tuple[int, int], str] = {}  # a folder's (dev, ino) -> the rel it is listed under
        self.links: list[tuple[str, str, int]] = []  # (rel, link path, depth)
        self.above: set[tuple[int, int]] = set()  # the root's parents: a link to one is a loop
        for parent in root.parents:
            try:
                st = os.stat(parent)
                self.above.add((st.st_dev, st.st_ino))
            except OSError:
                pass

    def run(self) -> None:
        st = os.stat(self.root)
        self._walk(str(self.root), "", 0, (st.st_dev, st.st_ino), via_link=False)
        while self.links:  # in rounds: the links found so far in name order, then those behind them
            batch, self.links = sorted(self.links), []
            for link in batch:
                self._follow(*link)

    def _walk(self, top: str, prefix: str, depth: int, key: tuple[int, int], via_link: bool) -> None:
        self.walked[key] = prefix.rstrip("/")
        stack = [(top, prefix, depth, key[0])]
        while stack:
            path, pre, d, dev = stack.pop()
            try:
                with os.scandir(path) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self.folder_skips.append((pre or "./", f"unreadable folder ({exc.strerror or exc})"))
                continue
            for e in entries:
                if e.name.startswith("."):
                    continue
                rel = pre + e.name
                try:
                    if e.is_symlink():
                        self.links.append((rel, e.path, d + 1))
                    elif e.is_dir(follow_symlinks=False):
                        if self.max_depth is None or d + 1 < self.max_depth:
                            st = e.stat(follow_symlinks=False)
                            self.walked[(st.st_dev, st.st_ino)] = rel
                            stack.append((e.path, rel + "/", d + 1, st.st_dev))
                    elif e.is_file(follow_symlinks=False):
                        self.entries.append((rel, e.path, via_link, (dev, e.inode())))
                    else:
                        kind = file_kind(e.stat(follow_symlinks=False).st_mode)
                        self.skipped.append((rel, f"not a regular file ({kind})"))
                except OSError as exc:
                    self.skipped.append((rel, f"unreadable ({exc.strerror or exc})"))

    def _follow(self, rel: str, path: str, depth: int) -> None:
        try:
            st = os.stat(path)
        except OSError as exc:
            self.skipped.append((rel, _link_problem(path, exc)))
            return
        key = (st.st_dev, st.st_ino)
        if stat.S_ISREG(st.st_mode):
            self.entries.append((rel, path, True, key))
        elif stat.S_ISDIR(st.st_mode):
            if self.max_depth is not None and depth >= self.max_depth:
                return
            inside = self.walked.get(key)
            if inside is not None:
                if inside == "" or rel.startswith(inside + "/"):
                    self.folder_skips.append((rel, f"symlink loop (points back to {inside or '.'}/)"))
                else:
                    self.folder_skips.append((rel, f"duplicate of {inside}/ (a symlink to that folder)"))
            elif key in self.above:
                self.folder_skips.append((rel, "symlink loop (points to a folder holding --images)"))
            else:
                self._walk(path, rel + "/", depth, key, via_link=True)
        else:
            self.skipped.append((rel, f"not a regular file ({file_kind(st.st_mode)})"))

    def found(self, root: Path, keep: Callable[[str], bool] = lambda rel: True,
              keep_folders: bool = True) -> Found:
        """One file per (device, inode): its own name when it is in the tree, else its first
        link's name; every other name of it is a duplicate."""
        by_key: dict[tuple[int, int], list[tuple[bool, str, str]]] = {}
        for rel, path, via_link, key in self.entries:
            if keep(rel):
                by_key.setdefault(key, []).append((via_link, rel, path))
        files: list[SourceFile] = []
        aliases: dict[str, str] = {}
        skipped = [s for s in self.skipped if keep(s[0])] + (self.folder_skips if keep_folders else [])
        for names in by_key.values():
            names.sort()  # a name reached without links first, then in name order
            _, kept, path = names[0]
            files.append(SourceFile(Path(path), kept))
            for via_link, rel, _ in names[1:]:
                how = "a symlink" if via_link else "a hard link"
                skipped.append((rel, f"duplicate of {kept} ({how} to the same file)"))
                aliases[rel] = kept
        files.sort(key=lambda f: f.rel)
        skipped.sort()
        return Found(root, files, skipped, aliases)


def _split_glob(pattern: Path) -> tuple[Path, str]:
    """(the folder before the first wildcard, the rest as a POSIX pattern)."""
    parts = pattern.parts
    k = next((i for i, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts))
    return (Path(*parts[:k]) if k else Path(".")), "/".join(parts[k:])


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob relative to its fixed root (``**/*.jpg``, ``a/?.png``) as a regex over POSIX rels,
    with ``glob.glob(recursive=True)``'s meaning: ``*``, ``?`` and ``[...]`` stay within one
    path segment, ``**`` spans any number of them."""
    parts = pattern.split("/")
    out = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:[^/]+/)*"
            continue
        j = 0
        while j < len(part):
            c = part[j]
            if c == "*":
                out += "[^/]*"
            elif c == "?":
                out += "[^/]"
            elif c == "[" and (k := part.find("]", j + 2)) != -1:
                body = part[j + 1:k].replace("\\", "\\\\").replace("[", "\\[")
                out += "[" + ("^" + body[1:] if body.startswith("!") else body.replace("^", "\\^", 1)) + "]"
                j = k
            else:
                out += re.escape(c)
            j += 1
        if not last:
            out += "/"
    return re.compile(out + r"\Z")


def discover(images: str, max_images: int | None = None, shuffle: bool = False, seed: int = 24) -> Found:
    """Files named by ``--images``: a folder (searched recursively), a glob, a file or an S3 prefix.

    Every non-hidden file counts: a file that cannot be read is either named in ``skipped``
    here (a link loop, a dangling link, a pipe, a second name of one file) or later, by the
    reader, with its reason. Order is sorted by path, so builds are deterministic; ``shuffle``
    reorders with ``seed`` before ``max_images``.
    """
    if is_s3(images):
        return _picked(Found(images, list_s3(images)), max_images, shuffle, seed)
    p = Path(images).expanduser()
    if p.is_dir():
        w = _Walker(p.resolve())
        w.run()
        found = w.found(w.root)
    elif _GLOB_CHARS & set(images):
        root, pattern = _split_glob(p)
        if not root.is_dir():
            raise UserError(f"--images {images}: no files found ({root} is not a folder)")
        rx = glob_regex(pattern)
        w = _Walker(root.resolve(), max_depth=None if "**" in pattern else pattern.count("/") + 1)
        w.run()
        found = w.found(w.root, keep=lambda rel: bool(rx.match(rel)), keep_folders="**" in pattern)
    elif p.is_symlink() or p.exists():
        found = _single(p)
    else:
        raise UserError(f"--images {images}: no such folder or file, and not a glob pattern")
    if not found.files:
        if found.skipped:
            rel, reason = found.skipped[0]
            raise UserError(f"--images {images}: no usable files ({rel}: {reason})")
        raise UserError(f"--images {images}: no files found")
    return _picked(found, max_images, shuffle, seed)


def _single(p: Path) -> Found:
    """``--images`` naming one file (or a link to one)."""
    root = p.absolute().parent.resolve()
    try:
        st = os.stat(p)
    except OSError as exc:
        return Found(root, [], [(p.name, _link_problem(str(p), exc))])
    if not stat.S_ISREG(st.st_mode):
        return Found(root, [], [(p.name, f"not a regular file ({file_kind(st.st_mode)})")])
    return Found(root, [SourceFile(p.resolve(), p.name)])


def find_images(images: str, max_images: int | None = None, shuffle: bool = False,
                seed: int = 24) -> tuple[Path | str, list[SourceFile]]:
    """(root, files) of :func:`discover`, for callers that need no skip list."""
    found = discover(images, max_images, shuffle, seed)
    return found.root, found.files


def _picked(found: Found, max_images: int | None, shuffle: bool, seed: int) -> Found:
    files = _pick(found.files, max_images, shuffle, seed)
    if len(files) == len(found.files):
        return found
    kept = {f.rel for f in files}  # a second name of a file left out is no longer news
    aliases = {a: k for a, k in found.aliases.items() if k in kept}
    skipped = [(rel, why) for rel, why in found.skipped if rel not in found.aliases or rel in aliases]
    return Found(found.root, files, skipped, aliases)


def _pick(files: list[SourceFile], max_images: int | None, shuffle: bool, seed: int) -> list[SourceFile]:
    files = list(files)
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




@dataclass
class Metadata:
    """PixPlot's metadata CSV matched to the files: what the build needs and what it should say."""

    by_rel: dict[str, dict[str, Any]]  # a kept file's rel -> its metadata
    fields: list[str]
    unmatched: list[str]  # filenames of rows that name no file
    followed: list[tuple[str, str]]  # (a duplicate's name, the kept file its row was applied to)
    truncated: int = 0  # cells cut to MAX_CELL_CHARS


def read_metadata(path: str, rels: list[str]) -> tuple[dict[str, dict[str, Any]], list[str], int]:
    """(rel -> metadata, field names, unmatched row count); see :func:`load_metadata`."""
    m = load_metadata(path, rels)
    return m.by_rel, m.fields, len(m.unmatched)


def load_metadata(path: str, rels: list[str], aliases: dict[str, str] | None = None) -> Metadata:
    """Read PixPlot's metadata CSV and match rows to files.

    A row's ``filename`` matches a file's path relative to the images root, or its basename
    when that basename is unique. A row naming a file skipped as a duplicate (``aliases``: its
    rel -> the kept copy's rel) applies to the kept copy, unless that copy has a row of its own.
    Images without a row are kept (upstream PixPlot dropped them). Cells longer than
    ``MAX_CELL_CHARS`` are cut, with one warning on stderr.
    """
    aliases = aliases or {}
    text = _metadata_text(path)
    by_base: dict[str, list[str]] = {}
    for rel in [*rels, *aliases]:
        by_base.setdefault(rel.rsplit("/", 1)[-1], []).append(rel)
    relset = set(rels)
    old_limit = csv.field_size_limit(_CSV_FIELD_LIMIT)
    try:
        with io.StringIO(text, newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or "filename" not in [h.strip().lower() for h in reader.fieldnames]:
                raise UserError(f"--metadata {path}: needs a 'filename' column (PixPlot's format)")
            rows = list(reader)
    except csv.Error as exc:
        raise UserError(f"--metadata {path}: malformed CSV ({exc})") from exc
    finally:
        csv.field_size_limit(old_limit)
    fields: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    own: set[str] = set()
    unmatched: list[str] = []
    followed: list[tuple[str, str]] = []
    truncated: list[tuple[int, str]] = []
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        name = row.pop("filename", "").replace("\\", "/").lstrip("./")
        rel = name if name in relset or name in aliases else None
        if rel is None:
            cands = by_base.get(name.rsplit("/", 1)[-1], [])
            if len({aliases.get(c, c) for c in cands}) == 1:  # names of one file count once
                rel = min(cands, key=lambda c: (c in aliases, c))
        if rel is None:
            unmatched.append(name)
            continue
        if rel in aliases:
            kept = aliases[rel]
            followed.append((rel, kept))
            if kept in own or kept in out:
                continue  # the kept copy's own row (or an earlier duplicate's) stands
            rel = kept
        else:
            own.add(rel)
        meta: dict[str, Any] = {}
        for k, v in row.items():
            if v == "":
                continue
            if len(v) > MAX_CELL_CHARS:
                truncated.append((line, k))
                v = v[:MAX_CELL_CHARS] + "…"
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
    if truncated:
        line, col = truncated[0]
        print(f"pixplot: warning: --metadata {path}: {len(truncated)} cell(s) longer than {MAX_CELL_CHARS} "
              f"characters cut to that length (first: line {line}, column {col!r})", file=sys.stderr, flush=True)
    return Metadata(out, fields, unmatched, followed, len(truncated))
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

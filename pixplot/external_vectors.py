"""Vectors computed elsewhere (``--vectors FILE``), in place of an embedder.

Why: a collection often already has embeddings (a fine-tuned model, a service, another tool), and
recomputing them here would lose exactly what made them useful. Accepted files, each keyed by file
name (matched like the metadata CSV's ``filename``: the path relative to the images root, or a
unique basename):

- ``.npy`` holding a float (n, d) array, with the n file names one per line in a text file beside
  it: ``X.npy`` + ``X.txt`` (or ``X.names.txt``, or ``X.filenames.txt``);
- ``.npz`` with arrays ``vectors`` (n, d) and ``filenames`` (n,);
- ``.csv`` with a ``filename`` column and one numeric column per dimension;
- ``.parquet`` with a ``filename`` column and either one list column (``vector``, ``embedding``
  or ``embeddings``) or one numeric column per dimension (needs ``pyarrow``).

Shape, dtype and values are checked (2-D, real numbers, finite, no all-zero row, at least one
dimension) and every problem is one line naming the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixplot.byname import NameMatch, match_names
from pixplot.errors import UserError
from pixplot.plugins import Embedder

LIST_COLUMNS = ("vector", "embedding", "embeddings")
NAME_SUFFIXES = (".txt", ".names.txt", ".filenames.txt")


@dataclass
class Vectors:
    """Vectors aligned to the images they matched: ``X[k]`` belongs to ``rels[k]``."""

    path: str
    rels: list[str]  # images (relative paths) with a vector, in the order given to :func:`load_vectors`
    X: np.ndarray  # float32 (len(rels), d)
    match: NameMatch
    digest: str  # sha256 of the file's bytes (names included), for ids and caches

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])


def _fail(path: str, why: str) -> UserError:
    return UserError(f"--vectors {path}: {why}")


def _check_matrix(path: str, X: np.ndarray) -> np.ndarray:
    if X.dtype == object or not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise _fail(path, f"holds {X.dtype} values, not real numbers")
    if X.ndim != 2:
        raise _fail(path, f"holds an array of shape {X.shape}; expected (images, dimensions)")
    if X.shape[1] < 1:
        raise _fail(path, f"has no dimensions (shape {X.shape})")
    X = X.astype(np.float32)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise _fail(path, f"row {int(np.flatnonzero(bad)[0])} holds NaN or infinite values")
    zero = ~(np.abs(X) > 0).any(axis=1)
    if zero.any():
        raise _fail(path, f"row {int(np.flatnonzero(zero)[0])} is all zeros (it has no direction to compare)")
    return X


def _names_file(path: Path) -> Path:
    stem = path.with_suffix("")
    for suffix in NAME_SUFFIXES:
        cand = Path(f"{stem}{suffix}")
        if cand.is_file():
            return cand
    raise _fail(str(path), f"a .npy needs its file names, one per line, in {stem.name}.txt beside it")


def _read_npy(path: Path) -> tuple[list[str], np.ndarray, bytes]:
    try:
        X = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise _fail(str(path), f"not a readable .npy array ({exc})") from exc
    names_path = _names_file(path)
    text = names_path.read_text("utf-8-sig")
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if X.ndim >= 1 and len(names) != X.shape[0]:
        raise _fail(str(path), f"has {X.shape[0]} rows but {names_path.name} lists {len(names)} file names")
    return names, X, path.read_bytes() + text.encode()


def _read_npz(path: Path) -> tuple[list[str], np.ndarray, bytes]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if "vectors" not in z or "filenames" not in z:
                raise _fail(str(path), f"a .npz needs arrays 'vectors' and 'filenames' (has: {', '.join(z.files)})")
            X, names = z["vectors"], [str(s) for s in z["filenames"].tolist()]
    except (ValueError, OSError) as exc:
        raise _fail(str(path), f"not a readable .npz ({exc})") from exc
    if X.ndim >= 1 and len(names) != X.shape[0]:
        raise _fail(str(path), f"has {X.shape[0]} vectors but {len(names)} file names")
    return names, X, path.read_bytes()


def _read_csv(path: Path) -> tuple[list[str], np.ndarray, bytes]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(str(path), f"not UTF-8 text ({exc.reason})") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    head = next(reader, None)
    if not head or "filename" not in [h.strip().lower() for h in head]:
        raise _fail(str(path), "needs a 'filename' column and one numeric column per dimension")
    fcol = [h.strip().lower() for h in head].index("filename")
    names, rows = [], []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(head):
            raise _fail(str(path), f"line {line} has {len(row)} cells, the header {len(head)}")
        try:
            rows.append([float(v) for k, v in enumerate(row) if k != fcol])
        except ValueError:
            raise _fail(str(path), f"line {line}: every column but filename must be a number") from None
        names.append(row[fcol])
    return names, np.array(rows, dtype=np.float64).reshape(len(rows), len(head) - 1), raw


def _read_parquet(path: Path) -> tuple[list[str], np.ndarray, bytes]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise _fail(str(path), "reading .parquet needs pyarrow (pip install 'seeen-pixplot[vectors]')") from exc
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise _fail(str(path), f"not a readable parquet file ({exc})") from exc
    cols = {c.lower(): c for c in table.column_names}
    if "filename" not in cols:
        raise _fail(str(path), f"needs a 'filename' column (has: {', '.join(table.column_names)})")
    names = [str(s) for s in table.column(cols["filename"]).to_pylist()]
    lists = [cols[c] for c in LIST_COLUMNS if c in cols]
    if lists:
        values = table.column(lists[0]).to_pylist()
        try:
            X = np.array(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise _fail(str(path), f"column {lists[0]!r} must hold lists of numbers of one length ({exc})") from exc
    else:
        others = [c for c in table.column_names if c != cols["filename"]]
        try:
            X = np.stack([np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64)
                          for c in others], axis=1) if others else np.zeros((len(names), 0))
        except (TypeError, ValueError) as exc:
            raise _fail(str(path), f"every column but filename must be numeric ({exc})") from exc
    return names, X, path.read_bytes()


READERS = {".npy": _read_npy, ".npz": _read_npz, ".csv": _read_csv, ".parquet": _read_parquet}


def load_vectors(path: str, rels: list[str]) -> Vectors:
    """Read ``path`` and match its rows to ``rels`` (the collection's images, relative paths)."""
    p = Path(path)
    if not p.is_file():
        raise _fail(path, "file not found")
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise _fail(path, f"unknown file type {p.suffix or '(none)'}; use .npy (+ names .txt), .npz, .csv or .parquet")
    names, X, raw = reader(p)
    X = _check_matrix(path, np.asarray(X))
    if len(X) == 0:
        raise _fail(path, "holds no vectors")
    m = match_names(names, rels)
    row_of = {rel: k for k, rel in enumerate(m.rows) if rel is not None}
    have = [rel for rel in rels if rel in row_of]
    if not have:
        raise _fail(path, f"no row names an image of this collection (first names: {', '.join(names[:3])})")
    Xa = X[[row_of[rel] for rel in have]]
    return Vectors(path=str(path), rels=have, X=Xa, match=m, digest=hashlib.sha256(raw).hexdigest())


def normalise_rows(X: np.ndarray) -> np.ndarray:
    """L2-normalised float32 rows, as every embedder's output is stored. Rows already of unit
    length (to float32 precision) are kept bit for bit: normalising twice changes the last bits of
    a third of them, and a build from exported vectors should equal the build they came from."""
    X = np.asarray(X, dtype=np.float32)
    n = np.linalg.norm(X, axis=1, keepdims=True)
    unit = np.abs(n - 1.0) <= 4 * np.finfo(np.float32).eps
    return np.where(unit, X, X / np.maximum(n, math.ulp(1.0))).astype(np.float32)


def vectors_for_items(v: Vectors, items: list[dict]) -> tuple[list[dict], np.ndarray, list[tuple[str, str]]]:
    """(items that have a vector, their L2-normalised vectors in item order, (source, reason) for
    the items dropped because the file has no row for their image)."""
    row = {rel: k for k, rel in enumerate(v.rels)}
    keep = [it for it in items if it["source"] in row]
    lost = [(it["source"], f"no row in --vectors {Path(v.path).name}") for it in items if it["source"] not in row]
    E = normalise_rows(v.X[[row[it["source"]] for it in keep]]) if keep else np.zeros((0, v.dim), np.float32)
    return keep, E, lost


def file_digest(path: str) -> str:
    """sha256 of the vectors file and, for a .npy, of its names file: what the vectors' id hangs on."""
    p = Path(path)
    if not p.is_file():
        raise _fail(path, "file not found")
    h = hashlib.sha256(p.read_bytes())
    if p.suffix.lower() == ".npy":
        h.update(_names_file(p).read_bytes())
    return h.hexdigest()


class GivenVectors(Embedder):
    """The plan's embedder when ``--vectors`` replaces it: nothing to run, an id that names the
    file's contents (so the cache and the manifest tell two vector files apart), never chosen with
    ``--embedder``."""

    name = "vectors"
    version = "1"
    id_excludes = ("path",)

    def __init__(self, path: str, digest: str | None = None) -> None:
        self.path = path
        self.digest = digest or file_digest(path)

    def embed(self, batch: list) -> np.ndarray:  # pragma: no cover - the embed stage reads the file instead
        raise NotImplementedError("--vectors: the build reads the file; nothing is embedded")

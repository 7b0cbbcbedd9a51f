"""The compact copy of the embeddings the viewer searches itself (docs/bundle.md ``vectors``).

A static bundle has no server to ask for "more like this", so the build writes the embeddings
again, small: projected on their first 64 principal components (fitted on a sample) and stored as
float16, each row L2-normalised, so that the browser's dot product is a cosine similarity. At
100k items that is 12.8 MB, which the viewer fetches only when first asked for neighbours; the
neighbours it finds agree with the full embeddings' for most of the top ranks (see
:func:`agreement`), and ``pixplot serve`` answers from the full vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pixplot.fsutil import atomic_write_bytes

DIMS = 64
FILE = "vectors.f16"
#: Rows used to fit the principal components.
FIT_SAMPLE = 50_000


def _unit(X: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(n > 0, n, 1)


def compact(E: np.ndarray, dims: int = DIMS, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """(float16 (n, min(dims, d)) unit rows, facts for the manifest). Embeddings of ``dims`` or
    fewer dimensions are kept as they are (only normalised and halved)."""
    X = _unit(np.asarray(E, dtype=np.float32))
    n, d = X.shape
    if d <= dims or n < 2:
        return X.astype(np.float16), {"method": "none", "dim": int(d)}
    rng = np.random.default_rng(seed)
    fit = X if n <= FIT_SAMPLE else X[np.sort(rng.choice(n, FIT_SAMPLE, replace=False))]
    mean = fit.mean(axis=0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    k = min(dims, vt.shape[0])
    explained = float((s[:k] ** 2).sum() / max(1e-12, (s ** 2).sum()))
    out = np.empty((n, k), np.float16)
    for start in range(0, n, 65_536):
        part = (X[start:start + 65_536] - mean) @ vt[:k].T
        out[start:start + 65_536] = _unit(part).astype(np.float16)
    return out, {"method": "pca", "dim": int(k), "explained_variance": round(explained, 4)}


def write_vectors(data_dir: str | Path, E: np.ndarray, dims: int = DIMS) -> dict[str, Any]:
    """Write ``data/vectors.f16`` (row-major little-endian float16) and return its manifest entry."""
    V, facts = compact(E, dims)
    atomic_write_bytes(Path(data_dir) / FILE, V.astype("<f2").tobytes())
    return {"file": FILE, "dtype": "float16", "of": "embeddings", **facts}


def read_vectors(data_dir: str | Path, entry: dict[str, Any], n: int) -> np.ndarray:
    """The compact vectors as float32 (n, dim)."""
    return np.fromfile(Path(data_dir) / entry["file"], dtype="<f2").reshape(n, int(entry["dim"])).astype(np.float32)


def agreement(E: np.ndarray, V: np.ndarray, queries: int = 200, k: int = 10, seed: int = 0) -> float:
    """Mean share of each query's top-k neighbours (full embeddings) that the compact vectors
    also rank in their top-k: how much "more like this" in a static bundle loses."""
    X = _unit(np.asarray(E, dtype=np.float32))
    Y = np.asarray(V, dtype=np.float32)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), min(queries, len(X)), replace=False)
    hits = []
    for r in rows:
        a = np.argsort(-(X @ X[r]))[1:k + 1]
        b = np.argsort(-(Y @ Y[r]))[1:k + 1]
        hits.append(len(set(a.tolist()) & set(b.tolist())) / k)
    return float(np.mean(hits))

"""UMAP layouts for millions: fit on a seeded sample, place the rest with ``transform``.

A full UMAP fit needs every point's neighbour graph in memory and grows faster than the
collection; a fit on a fixed-size sample does not. The rest is placed in fixed chunks of
``transform`` on the executor (each worker loads the fitted model once, from a file in the
build cache), so the layout is the same on one machine or a cluster, and memory stays at
the embeddings plus one PCA-reduced copy. Peak memory and times are measured and reported.
"""

from __future__ import annotations

import pickle
import resource
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pixplot.fsutil import atomic_write_bytes
from pixplot.project import UMAPProjector, import_umap, normalize_layout

#: Points per ``transform`` task. Above UMAP's 10,000-point threshold it runs 30 epochs, not 100.
CHUNK = 25_000
_models: dict[str, Any] = {}  # fitted models loaded in this worker process, by file


@dataclass
class FitReport:
    """What the sample-fit path did, for the manifest and the benchmark."""

    items: int
    sample: int
    chunks: int
    pca_seconds: float
    fit_seconds: float
    transform_seconds: float
    peak_rss_mib: float  # this process
    peak_worker_rss_mib: float  # the largest local worker process (0 when none ran here)

    def to_json(self) -> dict[str, Any]:
        return {"method": "umap fit on a sample, transform for the rest", **asdict(self)}


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished-or-waited child, in MiB."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return round(own, 1), round(kids, 1)


def pca_in_chunks(X: np.ndarray, dims: int, sample: np.ndarray, seed: int, chunk: int = 100_000) -> np.ndarray:
    """PCA fitted on the sample rows and applied to every row chunk by chunk (float32 out),
    so no float64 copy of the whole matrix is ever made."""
    dims = min(dims, len(sample))
    if X.shape[1] <= dims:
        return np.ascontiguousarray(X, dtype=np.float32)
    from sklearn.decomposition import PCA

    pca = PCA(n_components=dims, random_state=seed, svd_solver="randomized").fit(X[sample])
    out = np.empty((len(X), dims), np.float32)
    for i in range(0, len(X), chunk):
        out[i:i + chunk] = pca.transform(X[i:i + chunk])
    return out


def transform_chunk(model_path: str, k: int, X: np.ndarray) -> tuple[int, np.ndarray]:
    """Place one chunk of points with the fitted model (loaded once per worker process)."""
    model = _models.get(model_path)
    if model is None:
        import_umap()  # the model's classes, without the TensorFlow import
        with open(model_path, "rb") as f:
            model = pickle.load(f)
        _models.clear()  # one model at a time per worker
        _models[model_path] = model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return k, np.asarray(model.transform(X), dtype=np.float32)


def sample_fit_layout(proj: UMAPProjector, X: np.ndarray, sample_size: int, executor: Any, workdir: Path,
                      chunk: int = CHUNK, progress: bool = False) -> tuple[np.ndarray, FitReport]:
    """A 2-D UMAP layout of ``X`` fitted on ``sample_size`` seeded rows; returns the layout
    (normalised like :meth:`UMAPProjector.project`) and a :class:`FitReport`.

    Keep the sample at 4,096 points or more: below that UMAP fits without a neighbour index and
    its ``transform`` compares every new point with every sample point in Python (minutes per
    ten thousand points).
    """
    n = len(X)
    sample_size = max(2, min(sample_size, n))
    rng = np.random.default_rng(proj.seed)
    sample = np.sort(rng.choice(n, sample_size, replace=False))
    t = time.perf_counter()
    Xr = pca_in_chunks(X, proj.pca_dims, sample, proj.seed)
    pca_s = time.perf_counter() - t

    t = time.perf_counter()
    if progress:
        print(f"Fitting UMAP on a sample of {sample_size} of {n} items...", file=sys.stderr, flush=True)
    model = proj.fit(Xr[sample])
    fit_s = time.perf_counter() - t
    P = np.zeros((n, 2), np.float32)
    P[sample] = model.embedding_

    t = time.perf_counter()
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    chunks = [rest[i:i + chunk] for i in range(0, len(rest), chunk)]
    if chunks:
        model_path = Path(workdir) / f"umap-sample-{proj.key}-{sample_size}-{n}.pkl"
        atomic_write_bytes(model_path, pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        del model
        if progress:
            print(f"Placing {len(rest)} items in {len(chunks)} batches...", file=sys.stderr, flush=True)
        tasks = [(str(model_path), k, Xr[idx]) for k, idx in enumerate(chunks)]
        for k, Pk in executor.map_unordered(transform_chunk, tasks):
            P[chunks[k]] = Pk
        model_path.unlink(missing_ok=True)
    transform_s = time.perf_counter() - t
    own, kids = peak_rss_mib()
    report = FitReport(items=n, sample=sample_size, chunks=len(chunks), pca_seconds=round(pca_s, 2),
                       fit_seconds=round(fit_s, 2), transform_seconds=round(transform_s, 2),
                       peak_rss_mib=own, peak_worker_rss_mib=kids)
    return normalize_layout(P), report

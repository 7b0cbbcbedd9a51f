"""2-D layouts: UMAP, t-SNE, and a grid that keeps UMAP's neighbourhoods. All seeded."""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any, ClassVar

import numpy as np

from pixplot.knn import knn_graph
from pixplot.plugins import LayoutContext, Projector
from pixplot.tsne import TSNE_FIT_SAMPLE


def reduce_dims(X: np.ndarray, n_components: int = 50, seed: int = 24) -> np.ndarray:
    """PCA to at most ``n_components`` dimensions (denoises and speeds up neighbour search)."""
    n, d = X.shape
    k = min(n_components, d, n)
    if d <= n_components or n <= 2:
        return X.astype(np.float32)
    from sklearn.decomposition import PCA

    return PCA(n_components=k, random_state=seed).fit_transform(X).astype(np.float32)


def normalize_layout(P: np.ndarray) -> np.ndarray:
    """Centre on 0 and scale the longer axis to [-1, 1] (docs/bundle.md)."""
    P = np.asarray(P, dtype=np.float64)
    if len(P) == 0:
        return P.astype(np.float32)
    lo, hi = P.min(axis=0), P.max(axis=0)
    span = float((hi - lo).max())
    centre = (lo + hi) / 2
    scale = 2.0 / span if span > 0 else 1.0
    return ((P - centre) * scale).astype(np.float32)


def import_umap():
    """umap-learn, without the TensorFlow import it does for ParametricUMAP (unused here),
    which costs seconds and hundreds of MB in every worker when TensorFlow is installed."""
    sys.modules.setdefault("umap.parametric_umap", None)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap
    return umap


def _tiny_layout(n: int) -> np.ndarray:
    """Layouts for collections too small for a manifold method: points on a circle."""
    if n == 1:
        return np.zeros((1, 2), np.float32)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([np.cos(t), np.sin(t)], axis=1).astype(np.float32)


#: Above this many points a fit runs :data:`LARGE_EPOCHS` epochs instead of UMAP's 200.
LARGE_FIT = 50_000
#: Seeded UMAP optimises on one core, so epochs are most of a large fit's time. On 100k points
#: with per-cluster manifold structure, 100 epochs kept 0.728 of each point's 15 nearest
#: neighbours against 0.753 for 200, in 64 s instead of 87 s (docs/scale.md).
LARGE_EPOCHS = 100


def default_epochs(n: int) -> int | None:
    """Epochs for a fit on ``n`` points: UMAP's own choice (500 below 10k, else 200) up to
    :data:`LARGE_FIT`, then :data:`LARGE_EPOCHS`."""
    return None if n <= LARGE_FIT else LARGE_EPOCHS


#: Above this many points UMAP fits on a seeded sample and places the rest (``--umap-fit-sample``).
FIT_SAMPLE = 200_000


class UMAPProjector(Projector):
    name: ClassVar[str] = "umap"
    version: ClassVar[str] = "2"
    #: How many points are fitted does not change the id: :meth:`cache_id` adds it when it applies.
    id_excludes: ClassVar[tuple[str, ...]] = ("fit_sample",)

    def __init__(self, n_neighbors: int = 15, min_dist: float = 0.1, metric: str = "cosine",
                 seed: int = 24, pca_dims: int = 50, n_epochs: int | None = None, fit_sample: int = FIT_SAMPLE):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.seed = seed
        self.pca_dims = pca_dims
        self.n_epochs = n_epochs  # None: default_epochs(n)
        self.fit_sample = fit_sample

    @classmethod
    def backend(cls) -> str:
        """Which implementation runs here (``pixplot plugins``)."""
        from pixplot.gpu import backend_note

        return backend_note("umap-learn")

    def cache_id(self, n: int) -> str:
        """The layout cache's key for ``n`` points: a sample fit (CPU) or cuML gives a different layout."""
        from pixplot.gpu import use_cuml

        if use_cuml():
            return self.id + "cuml"
        return self.id + (f"sample{self.fit_sample}" if n > self.fit_sample else "")

    def fit(self, X: np.ndarray):
        """A fitted UMAP model; further points are placed with :func:`pixplot.sample_fit.place`.

        From 4,096 points (where UMAP stops computing every distance) the neighbour graph comes
        from :mod:`pixplot.knn` when it serves the metric: UMAP's own search would first spend
        about 50 s compiling in every process.
        """
        umap = import_umap()

        n = len(X)
        k = max(2, min(self.n_neighbors, n - 1))
        knn = knn_graph(X, k, self.metric, self.seed) if n >= 4096 else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = umap.UMAP(
                n_neighbors=k,
                precomputed_knn=(None, None, None) if knn is None else (knn[0], knn[1], None),
                min_dist=self.min_dist,
                metric=self.metric,
                random_state=self.seed,
                n_components=2,
                n_epochs=self.n_epochs if self.n_epochs is not None else default_epochs(n),
                init="spectral" if n > 10 else "random",
            )
            model.fit(X)
        return model

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> np.ndarray:
        """Fit on every point, or above ``fit_sample`` points (with a context to run on) fit a
        seeded sample and place the rest on the context's executor (:mod:`pixplot.sample_fit`)."""
        from pixplot import gpu

        n = len(X)
        if n < 4:
            return _tiny_layout(n)
        if gpu.use_cuml():  # every point on the GPU: millions take seconds, no sample needed
            return normalize_layout(gpu.umap_layout(
                X, n_neighbors=max(2, min(self.n_neighbors, n - 1)), min_dist=self.min_dist, metric=self.metric,
                seed=self.seed, n_epochs=self.n_epochs))
        if n > self.fit_sample and context is not None and context.executor is not None:
            from pixplot.sample_fit import sample_fit_layout

            P, fit = sample_fit_layout(self, X, self.fit_sample, context.executor, context.cache_dir,
                                       progress=context.progress)
            context.report["layout_fit"] = fit.to_json()
            context.note(f"UMAP fitted on a seeded sample of {fit.sample} of {fit.items} items, the rest placed "
                         f"with transform in {fit.chunks} batches (peak memory {fit.peak_rss_mib:.0f} MiB)")
            return P
        Xr = reduce_dims(X, self.pca_dims, self.seed)
        return normalize_layout(self.fit(Xr).embedding_)


class TSNEProjector(Projector):
    """openTSNE (FFT gradients, every core, neighbours from :mod:`pixplot.knn`); above
    ``tsne_fit_sample`` points it fits a seeded sample and places the rest with the fitted model
    (:mod:`pixplot.tsne`). scikit-learn's t-SNE, used before, is impractical past tens of
    thousands of points (benchmarks/bench_tsne.py measures both)."""

    name: ClassVar[str] = "tsne"
    version: ClassVar[str] = "2"
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "tsne_fit_sample": {"type": int, "metavar": "N", "help": "tsne layout: above N items, fit a seeded "
                            f"sample of N and place the rest with the fitted model (default {TSNE_FIT_SAMPLE})"},
    }
    #: How many points are fitted does not change the id: :meth:`cache_id` adds it when it applies.
    id_excludes: ClassVar[tuple[str, ...]] = ("tsne_fit_sample",)

    def __init__(self, perplexity: float = 30.0, metric: str = "cosine", seed: int = 24,
                 pca_dims: int = 50, tsne_fit_sample: int | None = None):
        self.perplexity = perplexity
        self.metric = metric
        self.seed = seed
        self.pca_dims = pca_dims
        self.tsne_fit_sample = tsne_fit_sample  # None: TSNE_FIT_SAMPLE

    @property
    def fit_sample(self) -> int:
        return TSNE_FIT_SAMPLE if self.tsne_fit_sample is None else self.tsne_fit_sample

    def cache_id(self, n: int) -> str:
        """The layout cache's key for ``n`` points: a sample fit gives a different layout."""
        return self.id + (f"sample{self.fit_sample}" if self.fit_sample and n > self.fit_sample else "")

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> np.ndarray:
        from pixplot.tsne import tsne_layout

        n = len(X)
        if n < 4:
            return _tiny_layout(n)
        m = self.fit_sample
        if m and n > m:  # PCA fitted on the sample rows, applied in chunks (no float64 copy of X)
            from pixplot.sample_fit import pca_in_chunks

            rng = np.random.default_rng(self.seed)
            Xr = pca_in_chunks(X, self.pca_dims, np.sort(rng.choice(n, m, replace=False)), self.seed)
        else:
            Xr = reduce_dims(X, self.pca_dims, self.seed)
        P, report = tsne_layout(Xr, self.perplexity, self.metric, self.seed, m)
        if context is not None and report.sample < n:
            context.report["tsne_fit"] = report.to_json()
            context.note(f"t-SNE fitted on a seeded sample of {report.sample} of {n} items, the rest placed "
                         f"by the fitted model ({report.fit_seconds:.0f} s fit, {report.transform_seconds:.0f} s "
                         "placement)")
        return normalize_layout(P)


def grid_layout(P: np.ndarray, exact_limit: int = 1500) -> np.ndarray:
    """Snap a 2-D layout to a square lattice, keeping neighbours near each other.

    Up to ``exact_limit`` points, an optimal assignment (Hungarian) of points to cells;
    beyond, rows by y then columns by x, which is O(n log n) and keeps the coarse structure.
    """
    n = len(P)
    if n == 0:
        return np.zeros((0, 2), np.float32)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    P = normalize_layout(P).astype(np.float64)
    if n <= exact_limit:
        from scipy.optimize import linear_sum_assignment
        from scipy.spatial.distance import cdist

        gx, gy = np.meshgrid(np.arange(cols), np.arange(rows))
        cells = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float64)
        # Fit the points' bounding box onto the lattice before matching.
        lo, hi = P.min(axis=0), P.max(axis=0)
        Q = (P - lo) / np.where(hi > lo, hi - lo, 1) * [cols - 1, rows - 1]
        _, cell_of = linear_sum_assignment(cdist(Q, cells, "sqeuclidean"))
        pos = cells[cell_of]
    else:
        order = np.lexsort((P[:, 0], P[:, 1]))
        pos = np.zeros((n, 2))
        for r in range(rows):
            row = order[r * cols:(r + 1) * cols]
            row = row[np.argsort(P[row, 0], kind="stable")]
            pos[row, 0] = np.arange(len(row))
            pos[row, 1] = r
    return normalize_layout(pos)


class GridProjector(Projector):
    """The UMAP layout snapped to a square lattice: every item its own cell, neighbours kept near."""

    name: ClassVar[str] = "grid"
    version: ClassVar[str] = "1"
    requires: ClassVar[tuple[str, ...]] = ("umap",)
    uses_embeddings: ClassVar[bool] = False

    def __init__(self, exact_limit: int = 1500):
        self.exact_limit = exact_limit

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> np.ndarray:
        if context is None or "umap" not in context.layouts:
            raise ValueError("grid is computed from the umap layout: pass it in context.layouts")
        return grid_layout(context.layouts["umap"], self.exact_limit)

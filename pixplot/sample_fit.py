"""UMAP layouts for millions: fit on a seeded sample, place the rest as ``transform`` would.

A full UMAP fit needs every point's neighbour graph in memory and grows faster than the
collection; a fit on a fixed-size sample does not. The rest is placed as UMAP's ``transform``
would place it: each point's nearest sample points come from a faiss index (every core, no
compilation), and fixed chunks are optimised against the fixed sample layout on the executor
(each worker loads the sample layout once, from a file in the build cache), so the layout is
the same on one machine or a cluster, and memory stays at the embeddings plus one
PCA-reduced copy. Peak memory and times are measured and reported.
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

from pixplot.errors import UserError
from pixplot.fsutil import atomic_write_bytes
from pixplot.knn import VectorIndex, available
from pixplot.project import UMAPProjector, import_umap, normalize_layout

#: Points per placement task.
CHUNK = 25_000
#: Optimisation epochs for placed points (UMAP's ``transform`` uses 30 above 10,000 points).
PLACE_EPOCHS = 30
_states: dict[str, dict[str, Any]] = {}  # fitted layouts loaded in this worker process, by file


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


def placement_state(model: Any) -> dict[str, Any]:
    """What placing points needs from a fitted UMAP model: the sample's layout and the
    optimiser's settings (a few MB, unlike the pickled model with its data and graph)."""
    from umap.umap_ import DISCONNECTION_DISTANCES

    return {
        "embedding": np.asarray(model.embedding_, np.float32),
        "a": float(model._a), "b": float(model._b), "n_neighbors": int(model._n_neighbors),
        "local_connectivity": float(model.local_connectivity),
        "repulsion_strength": float(model.repulsion_strength),
        "initial_alpha": float(model._initial_alpha), "negative_sample_rate": float(model.negative_sample_rate),
        "disconnection": float(DISCONNECTION_DISTANCES.get(model.metric, np.inf)),
        "seed": int(model.transform_seed),
    }


def place(state: dict[str, Any], indices: np.ndarray, dists: np.ndarray, n_epochs: int = PLACE_EPOCHS) -> np.ndarray:
    """Positions for new points from their nearest sample points, the way UMAP's ``transform``
    does it (fuzzy memberships, a weighted-average start, then optimisation against the fixed
    sample layout), but from neighbours found by :mod:`pixplot.knn` instead of pynndescent."""
    import scipy.sparse

    import_umap()
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import INT32_MAX, INT32_MIN, compute_membership_strengths, make_epochs_per_sample, smooth_knn_dist

    emb = state["embedding"]
    dists = np.ascontiguousarray(dists, dtype=np.float32)
    indices = np.array(indices, dtype=np.int32)
    indices[dists >= state["disconnection"]] = -1
    sigmas, rhos = smooth_knn_dist(dists, float(state["n_neighbors"]),
                                   local_connectivity=max(0.0, state["local_connectivity"] - 1.0))
    rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(indices), len(emb)))
    graph.eliminate_zeros()

    # Start each point at the membership-weighted mean of its neighbours, or on top of a sample
    # point it duplicates (membership 1), or on its nearest neighbour when it has no edges.
    csr = graph.tocsr()
    sums = np.asarray(csr.sum(axis=1)).ravel()
    start = (scipy.sparse.diags(1 / np.where(sums > 0, sums, 1)) @ csr @ emb).astype(np.float32)
    dup_rows, dup_cols = csr.multiply(csr == 1).nonzero()
    first = np.unique(dup_rows, return_index=True)[1]
    start[dup_rows[first]] = emb[dup_cols[first]]
    lonely = sums == 0
    start[lonely] = emb[np.maximum(indices[lonely, 0], 0)]

    if graph.nnz:
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
        graph.eliminate_zeros()
    rng_state = np.random.RandomState(state["seed"]).randint(INT32_MIN, INT32_MAX, 3).astype(np.int64)
    return optimize_layout_euclidean(
        start, emb.copy(), graph.row, graph.col, n_epochs, len(emb), make_epochs_per_sample(graph.data, n_epochs),
        state["a"], state["b"], rng_state, state["repulsion_strength"], state["initial_alpha"] / 4.0,
        state["negative_sample_rate"], False, verbose=False)


def place_chunk(state_path: str, k: int, indices: np.ndarray, dists: np.ndarray) -> tuple[int, np.ndarray]:
    """Place one chunk of points (the fitted layout is loaded once per worker process)."""
    state = _states.get(state_path)
    if state is None:
        with open(state_path, "rb") as f:
            state = pickle.load(f)
        _states.clear()  # one layout at a time per worker
        _states[state_path] = state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return k, np.asarray(place(state, indices, dists), dtype=np.float32)


def sample_fit_layout(proj: UMAPProjector, X: np.ndarray, sample_size: int, executor: Any, workdir: Path,
                      chunk: int = CHUNK, progress: bool = False) -> tuple[np.ndarray, FitReport]:
    """A 2-D UMAP layout of ``X`` fitted on ``sample_size`` seeded rows; returns the layout
    (normalised like :meth:`UMAPProjector.project`) and a :class:`FitReport`."""
    n = len(X)
    sample_size = max(2, min(sample_size, n))
    if sample_size < n and not available(proj.metric):
        raise UserError(f"placing {n - sample_size} items beyond the UMAP sample needs faiss and a cosine or "
                        f"euclidean --metric (got {proj.metric!r}); install faiss-cpu or raise --umap-fit-sample")
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
        state = placement_state(model)
        del model
        index = VectorIndex(Xr[sample], metric=proj.metric, seed=proj.seed)
        state_path = Path(workdir) / f"umap-sample-{proj.key}-{sample_size}-{n}.pkl"
        atomic_write_bytes(state_path, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        if progress:
            print(f"Placing {len(rest)} items in {len(chunks)} batches...", file=sys.stderr, flush=True)

        # Neighbours are found here (faiss uses every core); the optimisation runs on the executor.
        tasks = [(str(state_path), k, *index.neighbours(Xr[idx], state["n_neighbors"]))
                 for k, idx in enumerate(chunks)]
        del index
        for k, Pk in executor.map_unordered(place_chunk, tasks):
            P[chunks[k]] = Pk
        state_path.unlink(missing_ok=True)
    transform_s = time.perf_counter() - t
    own, kids = peak_rss_mib()
    report = FitReport(items=n, sample=sample_size, chunks=len(chunks), pca_seconds=round(pca_s, 2),
                       fit_seconds=round(fit_s, 2), transform_seconds=round(transform_s, 2),
                       peak_rss_mib=own, peak_worker_rss_mib=kids)
    return normalize_layout(P), report

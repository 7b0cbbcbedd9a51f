"""RAPIDS cuML backends for the ``umap`` projector and the ``hdbscan`` clusterer.

When cuML imports and sees a CUDA device, the same projector and clusterer names run on the GPU,
where a whole-set fit of millions of points takes seconds, so no sample is needed. Otherwise
(every CPU machine, including the test machines) the CPU implementations run unchanged.
``PIXPLOT_CUML`` chooses: ``auto`` (default), ``0`` (never), ``1`` (required: a clear error
when cuML or the GPU is missing, so that a GPU benchmark cannot silently measure the CPU).
``pixplot plugins`` prints which backend is active.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from pixplot.errors import UserError

ENV = "PIXPLOT_CUML"


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    """``None`` when cuML is usable here, else why not."""
    try:
        import cuml  # noqa: F401
        import cupy
    except ModuleNotFoundError:
        return "cuML not installed"
    except Exception as exc:  # a CUDA library that fails to load
        return f"cuML failed to import ({type(exc).__name__}: {exc})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as exc:
        return f"no CUDA device ({type(exc).__name__})"
    return None


def use_cuml() -> bool:
    """Whether the GPU backends run (see the module doc for ``PIXPLOT_CUML``)."""
    mode = os.environ.get(ENV, "auto").strip().lower()
    if mode in ("0", "no", "off", "false", "cpu"):
        return False
    why_not = _probe()
    if mode in ("1", "yes", "on", "true", "gpu", "cuda"):
        if why_not:
            raise UserError(f"{ENV}={mode} asks for the cuML GPU backend, but {why_not}")
        return True
    return why_not is None


def backend_note(cpu: str) -> str:
    """What runs, for ``pixplot plugins``: ``cuml (GPU)`` or the CPU implementation's name and
    why the GPU one is not used."""
    try:
        if use_cuml():
            return "cuml (GPU)"
    except UserError as exc:
        return f"{cpu} ({exc})"
    why_not = _probe()
    return f"{cpu} (CPU; {why_not or ENV + '=0'})"


def _host(a) -> np.ndarray:
    """A NumPy array from whatever cuML returned (NumPy for NumPy input; CuPy otherwise)."""
    get = getattr(a, "get", None)
    return np.asarray(get() if callable(get) else a)


def umap_layout(X: np.ndarray, *, n_neighbors: int, min_dist: float, metric: str, seed: int,
                n_epochs: int | None) -> np.ndarray:
    """A 2-D cuML UMAP embedding of every row of ``X`` (raw, not normalised). Cosine is run as
    euclidean on unit rows (the same neighbour order), which every cuML graph builder supports."""
    from cuml.manifold import UMAP

    X = np.ascontiguousarray(X, np.float32)
    if metric == "cosine":
        from pixplot.knn import normalise

        X, metric = normalise(X), "euclidean"
    model = UMAP(n_neighbors=n_neighbors, n_components=2, min_dist=min_dist, metric=metric,
                 n_epochs=n_epochs, random_state=seed, init="spectral", output_type="numpy")
    return _host(model.fit_transform(X)).astype(np.float32)


def hdbscan_labels(X: np.ndarray, *, min_cluster_size: int, min_samples: int | None,
                   cluster_selection_epsilon: float) -> np.ndarray:
    """cuML HDBSCAN labels for every row of ``X`` (-1 for noise)."""
    from cuml.cluster import HDBSCAN

    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                    cluster_selection_epsilon=cluster_selection_epsilon, output_type="numpy")
    return _host(model.fit_predict(np.ascontiguousarray(X, np.float32))).astype(np.int64)

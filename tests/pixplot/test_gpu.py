"""The cuML backends: on a machine without RAPIDS (every test machine) the CPU implementations
run unchanged and say why; asking for the GPU there fails with one line."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from pixplot import gpu
from pixplot.cluster import HDBSCANClusterer
from pixplot.errors import UserError
from pixplot.project import UMAPProjector

pytestmark = pytest.mark.skipif(gpu._probe() != "cuML not installed", reason="cuML is installed here")


def test_without_cuml_auto_runs_hdbscan_on_the_cpu_and_says_why(monkeypatch):
    monkeypatch.delenv(gpu.ENV, raising=False)
    assert gpu.use_cuml() is False
    note = HDBSCANClusterer.backend()
    assert note == "hdbscan (CPU; cuML not installed)"
    X, _ = make_blobs(n_samples=600, centers=3, n_features=2, random_state=0)
    auto = HDBSCANClusterer(min_cluster_size=20).cluster(X)
    monkeypatch.setenv(gpu.ENV, "0")
    assert (HDBSCANClusterer(min_cluster_size=20).cluster(X) == auto).all()
    assert HDBSCANClusterer.backend() == "hdbscan (CPU; cuML not installed)"


def test_requiring_cuml_without_it_fails_with_one_clear_line(monkeypatch):
    monkeypatch.setenv(gpu.ENV, "1")
    with pytest.raises(UserError, match=r"PIXPLOT_CUML=1 asks for the cuML GPU backend, but cuML not installed"):
        HDBSCANClusterer().cluster(np.zeros((10, 2)))


def test_with_cuml_the_same_clusterer_name_hands_the_whole_set_to_cuml(monkeypatch):
    # cuML cannot run here: a stand-in with cuML's HDBSCAN signature checks what is passed and
    # that its labels come back as they are (the GPU run itself is for a machine with a GPU).
    seen = {}

    class HDBSCAN:
        def __init__(self, *, min_cluster_size, min_samples, cluster_selection_epsilon, output_type):
            seen.update(min_cluster_size=min_cluster_size, min_samples=min_samples,
                        eps=cluster_selection_epsilon, output_type=output_type)

        def fit_predict(self, X):
            seen["rows"], seen["dtype"] = len(X), X.dtype
            return np.arange(len(X)) % 3

    cluster_mod = types.ModuleType("cuml.cluster")
    cluster_mod.HDBSCAN = HDBSCAN
    monkeypatch.setitem(sys.modules, "cuml", types.ModuleType("cuml"))
    monkeypatch.setitem(sys.modules, "cuml.cluster", cluster_mod)
    monkeypatch.setattr(gpu, "_probe", lambda: None)
    monkeypatch.setenv(gpu.ENV, "auto")
    assert HDBSCANClusterer.backend() == "cuml (GPU)"
    labels = HDBSCANClusterer(min_cluster_size=25, min_samples=5, fit_sample=100).cluster(np.ones((1000, 2)))
    assert labels.tolist() == (np.arange(1000) % 3).tolist() and labels.dtype == np.int64
    assert seen == {"min_cluster_size": 25, "min_samples": 5, "eps": 0.0, "output_type": "numpy",
                    "rows": 1000, "dtype": np.float32}


def test_umap_says_it_runs_umap_learn_on_the_cpu_without_cuml(monkeypatch):
    monkeypatch.delenv(gpu.ENV, raising=False)
    assert UMAPProjector.backend() == "umap-learn (CPU; cuML not installed)"
    assert UMAPProjector().cache_id(10) == UMAPProjector().id


def test_with_cuml_the_umap_name_fits_every_point_on_the_gpu_with_cosine_as_unit_euclidean(monkeypatch):
    # A stand-in with cuML's UMAP signature (see the HDBSCAN test above for why).
    seen = {}

    class UMAP:
        def __init__(self, **kw):
            seen.update(kw)

        def fit_transform(self, X):
            seen["norms"] = np.linalg.norm(X, axis=1)
            return X[:, :2] * 10

    manifold = types.ModuleType("cuml.manifold")
    manifold.UMAP = UMAP
    monkeypatch.setitem(sys.modules, "cuml", types.ModuleType("cuml"))
    monkeypatch.setitem(sys.modules, "cuml.manifold", manifold)
    monkeypatch.setattr(gpu, "_probe", lambda: None)
    assert UMAPProjector.backend() == "cuml (GPU)"
    X = np.random.default_rng(0).normal(size=(500, 8)) * 3
    proj = UMAPProjector(seed=7, n_epochs=50, fit_sample=100)
    P = proj.project(X)
    assert P.shape == (500, 2) and np.isclose(np.abs(P).max(), 1.0, atol=1e-5)
    assert np.allclose(seen.pop("norms"), 1.0, atol=1e-5)
    assert seen == {"n_neighbors": 15, "n_components": 2, "min_dist": 0.1, "metric": "euclidean", "n_epochs": 50,
                    "random_state": 7, "init": "spectral", "output_type": "numpy"}
    assert proj.cache_id(500).endswith("cuml")

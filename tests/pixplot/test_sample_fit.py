"""Layouts for millions, at test size: UMAP fitted on a seeded sample, the rest placed in
batches on the executor; every point placed and the known clusters recovered."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from pixplot.cluster import HDBSCANClusterer
from pixplot.executor import LocalExecutor
from pixplot.project import UMAPProjector
from pixplot.sample_fit import sample_fit_layout
from tests.pixplot.conftest import reference_options

pytestmark = pytest.mark.slow


def test_sample_fit_places_50k_points_and_recovers_known_clusters(tmp_path):
    X, truth = make_blobs(n_samples=50_000, n_features=128, centers=8, cluster_std=1.0, random_state=3)
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)  # like real embeddings
    ex = LocalExecutor(1)  # placement batches run through the executor (here, in this process)
    P, report = sample_fit_layout(UMAPProjector(seed=24), X, 5_000, ex, tmp_path, chunk=25_000)
    assert P.shape == (50_000, 2) and np.isfinite(P).all()
    assert np.abs(P).max() == pytest.approx(1.0)  # normalised like a full fit
    assert len(np.unique(P.round(5), axis=0)) > 49_000  # placed, not piled on a few spots
    assert report.sample == 5_000 and report.chunks == 2 and report.peak_rss_mib > 0
    assert not list(tmp_path.iterdir())  # the fitted model's file is gone afterwards
    labels = HDBSCANClusterer(min_cluster_size=100).cluster(P)
    assert adjusted_rand_score(truth, labels) > 0.9


def test_build_above_the_threshold_uses_sample_fit_and_says_so(reference_build, tmp_path, capsys):
    from pixplot.pipeline import build

    images, _ = reference_build
    res = build(reference_options(str(images), tmp_path / "out", umap_fit_sample=20, detector="none"))
    manifest = json.loads((tmp_path / "out" / "data" / "manifest.json").read_text())
    fit = manifest["layout_fit"]
    assert fit["sample"] == 20 and fit["items"] == 36 and fit["chunks"] == 1
    assert any("sample of 20" in n for n in manifest["notes"])
    assert "sample of 20" in capsys.readouterr().err
    P = np.fromfile(tmp_path / "out" / "data" / "layouts" / "umap.f32", "<f4").reshape(-1, 2)
    assert P.shape == (36, 2) and np.isfinite(P).all() and res.clusters >= 1

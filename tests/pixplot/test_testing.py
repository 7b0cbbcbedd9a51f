"""Synthetic bundles follow docs/bundle.md: the reader opens them and every file agrees on the items."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from pixplot.testing import cluster_rgb, write_synthetic_bundle


def test_synthetic_bundle_is_readable_and_consistent(tmp_path):
    out = write_synthetic_bundle(tmp_path / "b", 300, clusters=4, cell_size=16, atlas_size=128, detections=True)
    b = open_bundle(out)
    m = b.manifest
    assert m["counts"]["items"] == len(b.items) == 300
    assert len(set(b.ids)) == 300 and all(len(i) == 16 for i in b.ids)
    for lay in ("umap", "grid"):
        xy = b.layout(lay)
        assert xy.shape == (300, 2)
        assert np.isclose(np.abs(xy).max(), 1.0, atol=1e-5)  # the longer axis spans [-1, 1]
    labels = b.cluster_labels()
    clusters = b.clustering()["clusters"]
    assert sum(c["size"] for c in clusters) + len(b.clustering()["noise"]) == 300
    for c in clusters:
        assert {b.index[i] for i in c["members"]} == set(np.flatnonzero(labels == c["id"]).tolist())
    # 64 cells per 128 px sheet: 300 items need 5 sheets; item 0's cell has its cluster's colour.
    assert len(m["atlas"]["files"]) == 5 and m["atlas"]["per_atlas"] == 64
    sheet = np.asarray(Image.open(out / "data" / m["atlas"]["files"][0]))
    assert sheet.shape == (128, 128, 3)
    base = np.array(cluster_rgb(int(labels[0])), float)
    centre = sheet[8, 8].astype(float)
    assert np.all(centre >= 0.7 * base - 12) and np.all(centre <= base + 12)
    assert (out / "index.html").is_file() and (out / "assets" / "main.js").is_file()
    assert all((out / "data" / it["thumb"]).is_file() and (out / "data" / it["original"]).is_file() for it in b.items)


def test_known_positions_are_written_exactly(tmp_path):
    xy = np.array([[-1.0, 0.5], [1.0, -0.5], [0.0, 0.0]])
    out = write_synthetic_bundle(tmp_path / "b", positions=xy, cluster_labels=[0, 0, -1], web=False)
    b = open_bundle(out)
    assert np.array_equal(b.layout("umap"), xy.astype("<f4"))
    assert b.cluster_labels().tolist() == [0, 0, -1]
    assert b.clustering()["noise"] == [b.ids[2]]


def test_mismatched_cluster_labels_are_a_user_error(tmp_path):
    with pytest.raises(UserError, match="one per item"):
        write_synthetic_bundle(tmp_path / "b", positions=np.zeros((3, 2)), cluster_labels=[0, 1])

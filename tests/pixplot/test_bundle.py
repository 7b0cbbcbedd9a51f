"""The bundle reader: typed facts from the manifest, one place that knows its keys."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pixplot.bundle import AtlasInfo, PluginRef, open_bundle
from pixplot.errors import UserError
from pixplot.testing import write_synthetic_bundle


def test_typed_properties_read_the_manifest(tmp_path):
    out = write_synthetic_bundle(tmp_path / "b", 50, clusters=3, detections=True, web=False)
    b = open_bundle(out)
    assert b.embedder == PluginRef(name="synthetic", id="synthetic@1{}", dim=8)
    assert b.embedder_id == "synthetic@1{}"
    assert b.detector is not None and b.detector_id == "synthetic@1{}"
    assert b.layout_names == ["umap", "grid"] and b.default_layout == "umap"
    assert b.clustering_names == ["kmeans"] and b.default_clustering == "kmeans"
    assert b.metadata_fields == ["category"]
    assert b.counts["items"] == 50
    assert b.crop_margin == 0.2  # not recorded by the synthetic writer: the build default
    assert isinstance(b.atlas, AtlasInfo) and b.atlas.files == ("atlases/0.jpg",)
    assert b.layout("umap").shape == (50, 2)
    assert b.layout_guides("umap") is None
    assert len(b.cluster_labels()) == 50


def test_missing_pieces_read_as_empty_not_as_key_errors(tmp_path):
    out = write_synthetic_bundle(tmp_path / "b", 5, web=False)
    path = out / "data" / "manifest.json"
    m = json.loads(path.read_text())
    for key in ("detector", "embedder", "options", "metadata_fields"):
        m.pop(key, None)
    path.write_text(json.dumps(m))
    b = open_bundle(out)
    assert b.embedder is None and b.embedder_id == "" and b.detector_id is None
    assert b.metadata_fields == [] and b.options == {}


def test_unknown_layout_or_clustering_is_a_user_error(tmp_path):
    b = open_bundle(write_synthetic_bundle(tmp_path / "b", 5, web=False))
    with pytest.raises(UserError, match="no layout 'tsne'"):
        b.layout("tsne")
    with pytest.raises(UserError, match="no clustering 'x'"):
        b.cluster_labels("x")
    assert np.array_equal(b.cluster_labels(), b.cluster_labels("kmeans"))


def test_a_folder_without_a_manifest_is_not_a_bundle(tmp_path):
    with pytest.raises(UserError, match="not a pixplot bundle"):
        open_bundle(tmp_path)

"""The whole build, end to end, on real files."""

from __future__ import annotations

import csv
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import adjusted_rand_score

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from pixplot.pipeline import BuildOptions, build
from tests.conftest import synthetic_photo, write_bad_files, write_collection

pytestmark = pytest.mark.slow


def _opts(images, out, **kw):
    kw.setdefault("min_cluster_size", 5)
    kw.setdefault("workers", 2)
    return BuildOptions(images=str(images), out_dir=str(out), progress=False, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build over a folder of three image families plus broken files, with metadata."""
    tmp = tmp_path_factory.mktemp("build")
    images = tmp / "images"
    write_collection(images)
    bad = write_bad_files(images / "bad")
    (images / "warm" / "ünïcødé 日本.png").parent.mkdir(exist_ok=True)
    synthetic_photo(0, 4242).save(images / "warm" / "ünïcødé 日本.png")
    synthetic_photo(1, 4243).save(images / "stripes" / "warm_000.jpg")  # same basename as warm/warm_000.jpg
    shutil.copy(images / "checks" / "checks_000.jpg", images / "checks" / "copy.jpg")
    meta = tmp / "meta.csv"
    meta.write_text("filename,category,tags\nwarm/warm_001.jpg,sunny,a|b\n", encoding="utf-8")
    res = build(_opts(images, tmp / "out", metadata=str(meta), layouts="umap,tsne,grid"))
    return res, images, bad


def test_mixed_folder_keeps_every_readable_image_and_names_every_bad_one(built):
    res, images, bad = built
    b = open_bundle(res.out_dir)
    assert res.images == 36 + 2 and len(b.items) == 38
    with open(res.out_dir / "data" / "skipped.csv", newline="") as f:
        rows = {r["path"]: r["reason"] for r in csv.DictReader(f)}
    for name, word in bad.items():
        assert word in rows[f"bad/{name}"]
    assert rows["checks/copy.jpg"] == "duplicate of checks/checks_000.jpg"
    assert len(rows) == len(bad) + 1 == b.manifest["counts"]["skipped"]


def test_items_have_stable_content_ids_unicode_names_and_distinct_duplicate_basenames(built):
    res, images, _ = built
    b = open_bundle(res.out_dir)
    sources = [it["source"] for it in b.items]
    assert sources == sorted(sources)
    assert "warm/ünïcødé 日本.png" in sources
    assert "stripes/warm_000.jpg" in sources and "warm/warm_000.jpg" in sources
    import hashlib

    for it in b.items:
        digest = hashlib.sha256((images / it["source"]).read_bytes()).hexdigest()
        assert it["sha256"] == digest and it["id"] == digest[:16]
        assert (b.data / it["thumb"]).is_file()
        assert os.path.samefile(b.data / it["original"], images / it["source"])
    meta = {it["source"]: it["meta"] for it in b.items}
    assert meta["warm/warm_001.jpg"] == {"category": "sunny", "tags": ["a", "b"]}
    assert meta["warm/warm_002.jpg"] == {}  # images without metadata rows are kept


def test_bundle_files_follow_the_format(built):
    res, _, _ = built
    b = open_bundle(res.out_dir)
    m = b.manifest
    n = len(b.items)
    assert m["format"] == "pixplot-bundle" and m["embedder"]["name"] == "classic"
    assert [lay["name"] for lay in m["layouts"]] == ["umap", "tsne", "grid"]
    for lay in m["layouts"]:
        P = b.layout(lay["name"])
        assert P.shape == (n, 2) and np.isclose(np.abs(P).max(), 1.0, atol=1e-5)
    E = b.embeddings
    assert E.shape == (n, m["embedder"]["dim"]) and np.allclose(np.linalg.norm(E, axis=1), 1, atol=1e-5)
    labels = b.cluster_labels()
    assert labels.shape == (n,)
    clustering = b.clustering()
    assert sum(c["size"] for c in clustering["clusters"]) + len(clustering["noise"]) == n
    for c in clustering["clusters"]:
        assert all(labels[b.index[i]] == c["id"] for i in c["members"])
        assert c["representative"] in c["members"] and 0 < c["cohesion"] <= 1
    # atlas: every cell holds its thumbnail where the format says
    atlas = np.asarray(Image.open(b.data / m["atlas"]["files"][0]))
    cs = m["atlas"]["cell_size"]
    for i, it in enumerate(b.items):
        cw, ch = it["cell"]
        assert max(cw, ch) == cs
        col, row = i % m["atlas"]["cols"], i // m["atlas"]["cols"]
        x0, y0 = col * cs + (cs - cw) // 2, row * cs + (cs - ch) // 2
        assert atlas[y0:y0 + ch, x0:x0 + cw].std() > 3
    assert not list((res.out_dir / "data").rglob("*.tmp"))


def test_clusters_recover_the_three_families(built):
    res, _, _ = built
    b = open_bundle(res.out_dir)
    truth = [it["source"].split("/")[0] for it in b.items]
    keep = [i for i, t in enumerate(truth) if t != "bad"]
    labels = b.cluster_labels()
    assert adjusted_rand_score([truth[i] for i in keep], labels[keep]) > 0.8


def test_rebuild_after_adding_ten_images_embeds_ten(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=6)
    first = build(_opts(images, tmp_path / "out", layouts="umap"))
    assert first.embedded == 18
    again = build(_opts(images, tmp_path / "out", layouts="umap"))
    assert again.embedded == 0 and again.items == 18
    for i in range(10):
        synthetic_photo(i % 3, 5000 + i).save(images / f"new_{i}.jpg")
    third = build(_opts(images, tmp_path / "out", layouts="umap"))
    assert third.embedded == 10 and third.items == 28
    fresh = build(_opts(images, tmp_path / "fresh", layouts="umap", use_cache=False))
    a, b = open_bundle(third.out_dir), open_bundle(fresh.out_dir)
    assert a.ids == b.ids and np.array_equal(a.embeddings, b.embeddings)
    assert np.array_equal(a.layout("umap"), b.layout("umap"))


def test_clustering_options(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=8)
    res = build(_opts(images, tmp_path / "k", layouts="grid", cluster="kmeans", max_clusters=3,
                      cluster_on="embedding"))
    m = open_bundle(res.out_dir).manifest
    assert m["clusterings"][0]["method"] == "kmeans" and m["clusterings"][0]["on"] == "embedding"
    assert res.clusters == 3 and [lay["name"] for lay in m["layouts"]] == ["grid"]
    res = build(_opts(images, tmp_path / "h", layouts="umap", max_clusters=2))
    assert res.clusters == 2 and res.dropped_clusters >= 1


def test_bad_options_are_user_errors(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=1)
    with pytest.raises(UserError, match="unknown embedder"):
        build(_opts(images, tmp_path / "o", embedder="nope"))
    with pytest.raises(UserError, match="--layouts"):
        build(_opts(images, tmp_path / "o", layouts="umap,pca"))
    only_bad = tmp_path / "bad"
    write_bad_files(only_bad)
    with pytest.raises(UserError, match="none of the 4 files"):
        build(_opts(only_bad, tmp_path / "o"))


def test_manifest_records_every_option_and_plugin_id(built):
    res, _, _ = built
    m = json.loads((res.out_dir / "data" / "manifest.json").read_text())
    assert m["options"]["seed"] == 24 and m["options"]["min_cluster_size"] == 5
    assert m["embedder"]["id"].startswith("classic@2")
    assert m["detector"] is None

"""PixPlot parity through a real build: bring-your-own vectors and groups, metadata layouts,
--layout-file, --gzip, --plot_id and --copy_web_only."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from pixplot.pipeline import BuildOptions, build
from tests.conftest import write_collection

pytestmark = pytest.mark.slow


def _opts(images, out, **kw):
    # t-SNE and clustering the embeddings: no UMAP, so no numba compilation in the test run.
    kw.setdefault("min_cluster_size", 5)
    kw.setdefault("workers", 2)
    kw.setdefault("layouts", "tsne")
    kw.setdefault("cluster_on", "embedding")
    kw.setdefault("embedder", "classic")
    return BuildOptions(images=str(images), out_dir=str(out), progress=False, **kw)


@pytest.fixture(scope="module")
def collection3(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    images = tmp / "images"
    write_collection(images, per_class=8)
    rels = sorted(p.relative_to(images).as_posix() for p in images.rglob("*.jpg"))
    rng = np.random.default_rng(1)
    rows = ["filename,year,category,lat,lng,series"]
    for k, rel in enumerate(rels):
        year = "" if k % 6 == 0 else str(1950 + 10 * (k % 4))
        rows.append(f"{rel},{year},{rel.split('/')[0]},{rng.uniform(-50, 60):.3f},{rng.uniform(-120, 150):.3f},"
                    f"{'s' + str(k % 3) if k % 5 else ''}")
    meta = tmp / "meta.csv"
    meta.write_text("\n".join(rows) + "\n")
    return tmp, images, meta, rels


def test_a_build_from_vectors_equals_the_build_that_produced_them(collection3):
    tmp, images, _, _ = collection3
    a = build(_opts(images, tmp / "a"))
    ba = open_bundle(a.out_dir)
    np.save(tmp / "vecs.npy", ba.embeddings)
    (tmp / "vecs.txt").write_text("\n".join(it["source"] for it in ba.items) + "\n")
    b = build(_opts(images, tmp / "b", vectors=str(tmp / "vecs.npy"), embedder=None))
    bb = open_bundle(b.out_dir)
    assert bb.ids == ba.ids
    assert np.array_equal(bb.embeddings, ba.embeddings)
    assert np.array_equal(bb.layout("tsne"), ba.layout("tsne"))
    assert np.array_equal(bb.cluster_labels(), ba.cluster_labels())
    assert bb.manifest["embedder"]["name"] == "vectors" and bb.manifest["embedder"]["dim"] == ba.embeddings.shape[1]


def test_vectors_missing_rows_are_counted_named_and_dropped(collection3):
    tmp, images, _, rels = collection3
    X = np.random.default_rng(0).normal(size=(len(rels), 16))
    lines = ["filename," + ",".join(f"d{k}" for k in range(16))]
    lines += [f"{rel}," + ",".join(f"{v:.5f}" for v in X[k]) for k, rel in enumerate(rels[2:], start=2)]
    lines += ["nowhere/ghost.jpg," + ",".join("1" for _ in range(16))]
    (tmp / "v.csv").write_text("\n".join(lines) + "\n")
    res = build(_opts(images, tmp / "c", vectors=str(tmp / "v.csv"), embedder=None))
    assert res.items == len(rels) - 2
    text = " ".join(res.notes)
    assert "1 rows of" in text and "ghost.jpg" in text and "2 images have no row" in text and rels[0] in text
    skipped = (res.out_dir / "data" / "skipped.csv").read_text()
    assert rels[0] in skipped and "no row in --vectors v.csv" in skipped


def test_vectors_with_a_detector_or_a_bad_file_are_one_line_errors(collection3, tmp_path):
    _, images, _, _ = collection3
    (tmp_path / "v.csv").write_text("name,a\nx,1\n")
    with pytest.raises(UserError, match="v.csv: needs a 'filename' column"):
        build(_opts(images, tmp_path / "o", vectors=str(tmp_path / "v.csv"), embedder=None))


def test_clusters_from_a_metadata_column(collection3):
    tmp, images, meta, rels = collection3
    res = build(_opts(images, tmp / "d", metadata=str(meta), clusters_from="series"))
    b = open_bundle(res.out_dir)
    want = {}
    for line in meta.read_text().splitlines()[1:]:
        cells = line.split(",")
        want[cells[0]] = cells[-1] or None
    labels = b.cluster_labels()
    names = {c["id"]: c.get("name") for c in b.clustering()["clusters"]}
    got = {it["source"]: (names[int(labels[i])] if labels[i] >= 0 else None) for i, it in enumerate(b.items)}
    assert got == want
    assert b.manifest["clusterings"][0]["method"] == "column"


def test_metadata_layouts_custom_files_gzip_and_plot_id(collection3):
    tmp, images, meta, rels = collection3
    lay = tmp / "mds.csv"
    lay.write_text("filename,x,y\n" + "".join(f"{r},{k % 7},{k // 7}\n" for k, r in enumerate(rels)))
    res = build(_opts(images, tmp / "e", metadata=str(meta), layouts="tsne,date,categorical,geographic,alphabetic",
                      layout_files=[f"mds={lay}"], gzip=True, plot_id="my-plot"))
    b = open_bundle(res.out_dir)
    names = [entry["name"] for entry in b.manifest["layouts"]]
    assert names == ["tsne", "date", "categorical", "geographic", "alphabetic", "mds"]
    for name in names[1:]:
        P = b.layout(name)
        assert P.shape == (len(rels), 2) and np.isfinite(P).all()
        assert b.layout_guides(name) is not None
    assert "undated" in {lab["text"] for lab in b.layout_guides("date")["labels"]}
    assert b.manifest["plot_id"] == "my-plot"
    items_gz = res.out_dir / "data" / "items.json.gz"
    assert gzip.decompress(items_gz.read_bytes()) == (res.out_dir / "data" / "items.json").read_bytes()
    manifest_gz = res.out_dir / "data" / "manifest.json.gz"
    assert json.loads(gzip.decompress(manifest_gz.read_bytes())) == b.manifest


def test_copy_web_only_refreshes_the_viewer_without_images(collection3, tmp_path):
    from pixplot.testing import write_synthetic_bundle

    bundle = write_synthetic_bundle(tmp_path / "old", n=20)
    (bundle / "assets" / "main.js").write_text("// old\n")
    r = subprocess.run([sys.executable, "-m", "pixplot", "build", "--copy_web_only", "--out_dir", str(bundle)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (bundle / "assets" / "main.js").read_text() != "// old\n"
    assert "viewer" in r.stdout
    r = subprocess.run([sys.executable, "-m", "pixplot", "build", "--out_dir", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--images" in r.stderr
    assert Path(bundle / "data" / "manifest.json").is_file()

"""Each layout made from metadata paints in the browser with its guides (years, categories,
letters, a graticule and a base layer), and switching layouts switches the guides."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from viewer_helpers import open_viewer, serve_static

from pixplot.plugins import Layout, LayoutContext, create
from pixplot.testing import write_synthetic_bundle

pytestmark = pytest.mark.browser
N = 60


def metas(tmp: Path) -> tuple[list[dict], dict[str, dict]]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(N):
        m = {"category": ["cat", "dog", "bird", "fish"][min(3, int(rng.integers(0, 5)))]}
        if i % 7:
            m["year"] = str(1900 + 10 * int(rng.integers(0, 6)))
        if i % 5:
            m["lat"], m["lng"] = float(rng.uniform(-60, 70)), float(rng.uniform(-170, 170))
        out.append(m)
    geo = tmp / "land.geojson"
    geo.write_text(json.dumps({"type": "Polygon", "coordinates": [[[-20, -30], [50, -30], [50, 35], [-20, 35],
                                                                   [-20, -30]]]}))
    custom = tmp / "mds.csv"
    custom.write_text("filename,x,y\n" + "".join(f"img_{i:07d}.jpg,{np.cos(i / 6):.4f},{np.sin(i / 4):.4f}\n"
                                                 for i in range(N - 3)))
    params = {"date": {}, "categorical": {}, "alphabetic": {}, "geographic": {"geojson": str(geo)},
              "custom": {"file": str(custom), "title": "mds"}}
    return out, params


def add_layouts(bundle: Path, tmp: Path, default: str) -> None:
    """What the build's bundle writer does with a projector's Layout: positions and guides files,
    and a manifest entry naming both."""
    data = bundle / "data"
    doc = json.loads((data / "items.json").read_text())
    meta, params = metas(tmp)
    for it, m in zip(doc["items"], meta, strict=True):
        it["meta"] = m
    (data / "items.json").write_text(json.dumps(doc))
    manifest = json.loads((data / "manifest.json").read_text())
    ctx = LayoutContext(items=doc["items"])
    for name, p in params.items():
        out = create("projector", name, **p).project(np.zeros((N, 0), np.float32), context=ctx)
        assert isinstance(out, Layout) and out.guides
        out.positions.astype("<f4").tofile(data / "layouts" / f"{name}.f32")
        (data / "layouts" / f"{name}.guides.json").write_text(json.dumps(out.guides))
        manifest["layouts"].append({"name": name, "file": f"layouts/{name}.f32",
                                    "guides": f"layouts/{name}.guides.json"})
    manifest["default_layout"] = default
    manifest["metadata_fields"] = ["category", "year", "lat", "lng"]
    (data / "manifest.json").write_text(json.dumps(manifest))


def screenshot_colours(page) -> tuple[int, int]:
    """(pixels that differ from the page background, distinct colours) of the map area."""
    png = page.locator("#map").screenshot()
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    bg = np.median(img, axis=0)
    differ = int((np.abs(img.astype(int) - bg).sum(axis=1) > 30).sum())
    return differ, len(np.unique(img // 16, axis=0))


@pytest.mark.parametrize("name", ["date", "categorical", "geographic", "custom", "alphabetic"])
def test_each_metadata_layout_paints_with_its_guides(page, tmp_path, name):
    bundle = write_synthetic_bundle(tmp_path / "b", n=N, clusters=4)
    add_layouts(bundle, tmp_path, default=name)
    url, srv = serve_static(bundle)
    try:
        open_viewer(page, url)
        stats = page.evaluate("pixplot.painted()")
        assert stats["painted"] > N * 10
        page.wait_for_function("pixplot.guides() && pixplot.guides().painted > 0", timeout=10000)
        g = page.evaluate("pixplot.guides()")
        assert g["layout"] == name and g["labels"] > 0 and g["painted"] > 200
        if name == "geographic":
            assert g["lines"] >= 12 and g["base"] == 1 and g["axes"] == {"x": "longitude", "y": "latitude"}
        differ, colours = screenshot_colours(page)
        assert differ > 2000 and colours > 8
    finally:
        srv.shutdown()


def test_switching_layout_switches_guides(page, tmp_path):
    bundle = write_synthetic_bundle(tmp_path / "b", n=N, clusters=4)
    add_layouts(bundle, tmp_path, default="umap")
    url, srv = serve_static(bundle)
    try:
        open_viewer(page, url)
        assert page.evaluate("pixplot.guides()")["labels"] == 0
        page.evaluate("pixplot.app.setLayout('date')")
        page.wait_for_function("pixplot.guides().layout === 'date' && pixplot.guides().labels > 0")
        page.wait_for_function("pixplot.guides().painted > 0")
        page.evaluate("pixplot.app.setLayout('grid')")
        page.wait_for_function("pixplot.guides().layout === 'grid' && pixplot.guides().labels === 0")
    finally:
        srv.shutdown()

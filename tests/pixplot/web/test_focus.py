"""The focus grid in a real browser: a focused cluster's members never hide one another, are at
least 48 px on a 1280 x 800 screen, show their exclusion and selection marks, go back when focus
ends; zoom stops at the previews' native size."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from viewer_helpers import open_viewer, serve_static

from pixplot.testing import write_synthetic_bundle

pytestmark = pytest.mark.browser

SIZES = [400, 120, 36]  # clusters 0, 1, 2: each a tight blob where thumbnails pile up


@pytest.fixture(scope="module")
def piles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    centres = [(-0.5, 0.0), (0.5, 0.3), (0.3, -0.5)]
    xy = np.concatenate([rng.normal(c, 0.04, size=(n, 2)) for c, n in zip(centres, SIZES, strict=True)])
    labels = np.concatenate([np.full(n, k) for k, n in enumerate(SIZES)])
    return write_synthetic_bundle(tmp_path_factory.mktemp("piles"), positions=xy, cluster_labels=labels)


@pytest.fixture
def wide(browser: object, piles: Path) -> Iterator[object]:
    url, srv = serve_static(piles)
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    open_viewer(pg, url)
    yield pg
    ctx.close()
    srv.shutdown()


def members(bundle: Path, cluster: int) -> list[str]:
    ids = [it["id"] for it in json.loads((bundle / "data" / "items.json").read_text())["items"]]
    start = sum(SIZES[:cluster])
    return ids[start:start + SIZES[cluster]]


def overlapping_pairs(points: np.ndarray, side: float) -> int:
    d = np.abs(points[:, None, :] - points[None, :, :])
    hit = (d[..., 0] < side - 0.5) & (d[..., 1] < side - 0.5)
    return int((hit.sum() - len(points)) // 2)


def canvas_size(page) -> tuple[float, float]:
    return tuple(page.evaluate("(() => { const r = document.querySelector('#map').getBoundingClientRect(); "
                               "return [r.width, r.height]; })()"))


def test_a_focused_cluster_of_400_lays_every_member_out_apart_at_48_px_or_more(wide, piles):
    page = wide
    ids = members(piles, 0)
    before = np.array(page.evaluate("(ids) => pixplot.onScreen(ids)", ids))
    assert overlapping_pairs(before, 20) > 100  # in the layout they pile up
    page.keyboard.press("n")  # the largest unlabelled cluster: cluster 0
    page.evaluate("pixplot.settled()")
    side = page.evaluate("pixplot.pointPx()")
    assert side >= 48
    pts = np.array(page.evaluate("(ids) => pixplot.onScreen(ids)", ids))
    assert overlapping_pairs(pts, side) == 0
    w, h = canvas_size(page)
    on = (pts[:, 0] > 0) & (pts[:, 0] < w) & (pts[:, 1] > 0) & (pts[:, 1] < h)
    assert on.sum() >= 200  # the first rows fill the view; the rest scroll
    assert pts[:, 0].min() > 0 and pts[:, 0].max() < w  # every column fits across
    # Scrolling (PageDown, wheel) brings the last row in.
    for _ in range(4):
        page.keyboard.press("PageDown")
    last = np.array(page.evaluate("(ids) => pixplot.onScreen(ids)", ids))
    assert 0 < last[:, 1].max() < h
    assert page.evaluate("pixplot.pointPx()") == side


def test_excluded_and_selected_marks_show_on_every_member_of_a_focused_pile(wide, piles):
    page = wide
    ids = members(piles, 2)
    page.evaluate("pixplot.app.openCluster(2)")
    page.evaluate("pixplot.settled()")
    side = page.evaluate("pixplot.pointPx()")
    pts = np.array(page.evaluate("(ids) => pixplot.onScreen(ids)", ids))
    assert overlapping_pairs(pts, side) == 0
    page.keyboard.press("Escape")  # clear the selection, stay focused
    page.evaluate("(ids) => pixplot.select(ids)", ids[5:8])
    page.keyboard.press("x")
    page.evaluate("pixplot.settled()")
    for k in range(5, 8):
        # The red cross over the item. Positions and pixels are read again until the frame that
        # draws the exclusion is on screen: a loaded machine may still be animating the grid.
        deadline = time.monotonic() + 5
        while True:
            x, y = page.evaluate("(ids) => pixplot.onScreen(ids)", [ids[k]])[0]
            centre = page.evaluate("(p) => pixplot.app.map.pixels(p[0] - 1, p[1] - 1, 3, 3)", [x, y])["rows"][1]
            r, g, b = centre[4:7]
            if (r > 200 and g < 80 and b < 80) or time.monotonic() > deadline:
                break
            page.wait_for_timeout(100)
        assert r > 200 and g < 80 and b < 80, (r, g, b)
    # The selection frame: yellow with a dark outline inside it, whatever the item's colour.
    x, y = page.evaluate("(ids) => pixplot.onScreen(ids)", [ids[6]])[0]
    row = page.evaluate("(p) => pixplot.app.map.pixels(p[0] - p[2] / 2, p[1] + p[2] / 4, p[2] / 3, 1)",
                        [x, y, side])["rows"][0]
    pixels = [row[k:k + 3] for k in range(0, len(row), 4)]
    assert any(r > 220 and g > 170 and b < 60 for r, g, b in pixels)
    assert any(max(r, g, b) < 30 for r, g, b in pixels)
    # Escape twice: selection cleared, then the members go back to their layout places.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.evaluate("pixplot.settled()")
    assert page.evaluate("pixplot.app.focus") is None
    back = np.array(page.evaluate("(ids) => pixplot.onScreen(ids)", ids))
    assert overlapping_pairs(back, 8) > 0


def test_focusing_a_selection_with_z_lays_it_out_and_lasso_stays_within_it(wide, piles):
    page = wide
    ids = members(piles, 1)[:50] + members(piles, 2)[:10]
    page.evaluate("(ids) => pixplot.select(ids)", ids)
    page.keyboard.press("z")
    page.evaluate("pixplot.settled()")
    side = page.evaluate("pixplot.pointPx()")
    assert side >= 48
    pts = np.array(page.evaluate("(ids) => pixplot.onScreen(ids)", ids))
    assert overlapping_pairs(pts, side) == 0
    # Select-all while focused takes only the focused items.
    page.keyboard.press("a")
    assert set(page.evaluate("pixplot.selection()")) == set(ids)


def test_zoom_stops_at_the_previews_native_size(wide):
    page = wide
    native = page.evaluate("pixplot.app.manifest.thumbs.size / devicePixelRatio")
    for _ in range(40):
        page.keyboard.press("+")
    assert page.evaluate("pixplot.pointPx()") == pytest.approx(native, rel=0.01)
    page.keyboard.press("]")  # larger thumbnails: the limit follows the thumbnail size
    for _ in range(5):
        page.keyboard.press("+")
    assert page.evaluate("pixplot.pointPx()") <= native * 1.01

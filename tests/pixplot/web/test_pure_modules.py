"""The viewer's DOM-free modules (focus.js, filters.js, grid.js) imported into a real browser page and
driven directly: the focus grid's geometry, filter semantics and the focused picking grid, without a
bundle or WebGL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from viewer_helpers import serve_static

from pixplot.bundle import WEB_DIR as WEB

pytestmark = pytest.mark.browser


@pytest.fixture
def modules(page) -> Iterator[object]:
    url, srv = serve_static(WEB)
    page.goto(url + "assets/style.css")  # any page of that origin: modules import from it
    yield page
    srv.shutdown()


def test_focus_grid_places_every_member_apart_in_rows_that_follow_the_layout(modules):
    out = modules.evaluate("""async () => {
      const { focusGrid, MIN_PX } = await import('/assets/focus.js');
      let seed = 7; const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      const n = 2000, xy = new Float32Array(2 * n);
      for (let i = 0; i < 2 * n; i++) xy[i] = 0.3 + 0.02 * rnd();   // a tight pile
      const res = {};
      for (const m of [36, 400, 1500]) {
        const members = Array.from({ length: m }, (_, k) => k * 3 % n);
        const g = focusGrid(xy, members, 0.01, [900, 724]);
        let overlaps = 0, minGap = Infinity;
        for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) {
          const dx = Math.abs(g.xy[2 * a] - g.xy[2 * b]), dy = Math.abs(g.xy[2 * a + 1] - g.xy[2 * b + 1]);
          if (dx < 0.01 && dy < 0.01) overlaps++;
          minGap = Math.min(minGap, Math.max(dx, dy));
        }
        // Rows follow the layout: a member in a higher row is never lower in the layout than a
        // member of a row below it (rows are filled from the top).
        const rowOf = (k) => Math.round((g.box[3] - g.xy[2 * k + 1]) / g.cell - 0.5);
        let ordered = true;
        for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) {
          if (rowOf(a) < rowOf(b) && xy[2 * members[a] + 1] < xy[2 * members[b] + 1] - 1e-9) ordered = false;
        }
        res[m] = { overlaps, px: g.px, cols: g.cols, rows: g.rows, fitsAcross: g.cols * g.px / 0.9 <= 900 + 1,
                   ordered, minPx: MIN_PX, gapOk: minGap >= 0.01 - 1e-6 };
      }
      return res; }""")
    for m, r in out.items():
        assert r["overlaps"] == 0, m
        assert r["gapOk"], m
        assert r["px"] >= r["minPx"], m
        assert r["fitsAcross"], m
        assert r["ordered"], m
    assert out["36"]["px"] > out["400"]["px"]  # a small cluster gets larger thumbnails
    assert out["400"]["rows"] * out["400"]["px"] > 724  # 400 at 48 px: taller than the view, scrolled


def test_filters_are_literal_compose_and_follow_annotations(modules):
    out = modules.evaluate("""async () => {
      const { matchMask, emptyFilter, isActive, codeCounts, yearRange } = await import('/assets/filters.js');
      const store = { labelNames: ['a.c', '<b>'], labelIds: new Map([['a.c', 0], ['<b>', 1]]),
                      labelOf: Int32Array.from([0, 1, -1, -1, 0]), excluded: Uint8Array.from([0, 0, 1, 0, 1]) };
      const facets = { category: { values: ['x', 'y'], codes: Int32Array.from([0, 1, 0, -1, 1]) },
                       tags: { values: ['red', 'blue'], offsets: Int32Array.from([0, 1, 3, 3, 4, 5]),
                               codes: Int32Array.from([0, 0, 1, 1, 0]) },
                       metaLabel: null, years: Int16Array.from([1990, 2000, 0, 2010, 2020]) };
      const clusterOf = Int32Array.from([0, 0, 1, 1, -1]);
      const ctx = (textMask = null) => ({ n: 5, facets, store, clusterOf, textMask });
      const f = (patch) => ({ ...emptyFilter(), ...patch });
      const arr = (m) => (m ? Array.from(m) : null);
      return {
        empty: arr(matchMask(ctx(), emptyFilter())), active: isActive(f({ tags: ['red'] })),
        textLabel: arr(matchMask(ctx(new Uint8Array(5)), f({ text: 'A.C' }))),   // annotation label, any case
        notRegex: arr(matchMask(ctx(new Uint8Array(5)), f({ text: 'abc' }))),
        markup: arr(matchMask(ctx(new Uint8Array(5)), f({ text: '<b>' }))),
        compose: arr(matchMask(ctx(), f({ category: ['x', 'y'], tags: ['red'] }))),
        status: arr(matchMask(ctx(), f({ status: ['excluded'] }))),
        unlabelledOrExcluded: arr(matchMask(ctx(), f({ status: ['excluded', 'unlabelled'] }))),
        years: arr(matchMask(ctx(), f({ years: [1995, 2015] }))),
        cluster: arr(matchMask(ctx(), f({ cluster: ['1'] }))),
        counts: codeCounts(facets.category), range: yearRange(facets.years) }; }""")
    assert out["empty"] is None and out["active"]
    assert out["textLabel"] == [1, 0, 0, 0, 1]
    assert out["notRegex"] == [0, 0, 0, 0, 0]
    assert out["markup"] == [0, 1, 0, 0, 0]
    assert out["compose"] == [1, 1, 0, 0, 1]
    assert out["status"] == [0, 0, 1, 0, 1]
    assert out["unlabelledOrExcluded"] == [0, 0, 1, 1, 1]
    assert out["years"] == [0, 1, 0, 1, 0]
    assert out["cluster"] == [0, 0, 1, 1, 0]
    assert out["counts"] == [["x", 2], ["y", 2]]
    assert out["range"] == [1990, 2020]


def test_the_focused_picking_grid_finds_focused_items_at_their_new_places_first(modules):
    out = modules.evaluate("""async () => {
      const { SpatialGrid, FocusedGrid } = await import('/assets/grid.js');
      const xy = Float32Array.from([0, 0, 1, 1, 0.5, 0.5, 0.9, 0.9]);   // item 3 will move onto item 0
      const g = new FocusedGrid(new SpatialGrid(xy), [3], Float32Array.from([0, 0]), 4);
      return { pickAt0: g.pick(0, 0, 0.05), pickOld: g.pick(0.9, 0.9, 0.05), pickOther: g.pick(1, 1, 0.05),
               rect: g.inRect(-0.1, -0.1, 0.1, 0.1).sort(),
               poly: g.inPolygon([[0.4, 0.4], [1.1, 0.4], [1.1, 1.1], [0.4, 1.1]]).sort(),
               visible: g.visible(-1, -1, 2, 2, 100).sort() }; }""")
    assert out["pickAt0"] == 3  # the focused item wins where it now is
    assert out["pickOld"] == -1  # and is no longer where it was
    assert out["pickOther"] == 1
    assert out["rect"] == [0, 3]
    assert out["poly"] == [1, 2]
    assert out["visible"] == [0, 1, 2, 3]

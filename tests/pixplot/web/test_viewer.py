"""The viewer in a real browser: it paints, selects what the lasso encloses, saves, undoes, and
never renders a label as HTML."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from viewer_helpers import lattice, open_viewer
from werkzeug.serving import make_server

from pixplot.bundle import open_bundle

pytestmark = pytest.mark.browser


def ids_of(bundle: Path) -> list[str]:
    return [it["id"] for it in json.loads((bundle / "data" / "items.json").read_text())["items"]]


# An L-shaped polygon: columns 0-1 of every row, plus rows 0-1 of every column. Its convex hull
# would also take the items at columns 2-5 of rows 2-5.
L_SHAPE = [[-0.96, -0.96], [0.96, -0.96], [0.96, -0.32], [-0.32, -0.32], [-0.32, 0.96], [-0.96, 0.96]]


def in_l(i: int) -> bool:
    return i % 6 <= 1 or i // 6 <= 1


def test_bundle_paints_a_non_blank_map(page, static_url):
    open_viewer(page, static_url)
    stats = page.evaluate("pixplot.painted()")
    # 36 cells, each several pixels wide, in more than one colour.
    assert stats["painted"] > 36 * 20
    assert stats["colours"] > 4


def test_lasso_selects_exactly_the_items_inside_the_polygon(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    result = page.evaluate("(poly) => pixplot.lasso(poly)", L_SHAPE)
    expected = {ids[i] for i in range(36) if in_l(i)}
    assert result["count"] == len(expected) == 20
    assert set(page.evaluate("pixplot.selection()")) == expected


def test_mouse_drawn_lasso_selects_the_enclosed_items(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    page.keyboard.press("-")  # zoom out so that the whole polygon is on the map
    page.keyboard.press("l")  # lasso tool
    points = [page.evaluate("(p) => pixplot.toClient(p[0], p[1])", p) for p in L_SHAPE + [L_SHAPE[0]]]
    page.mouse.move(*points[0])
    page.mouse.down()
    for a, b in zip(points, points[1:], strict=False):
        for t in range(1, 9):
            page.mouse.move(a[0] + (b[0] - a[0]) * t / 8, a[1] + (b[1] - a[1]) * t / 8)
    page.mouse.up()
    assert set(page.evaluate("pixplot.selection()")) == {ids[i] for i in range(36) if in_l(i)}


def test_click_selects_one_item_and_shift_click_toggles(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    xy, _ = lattice()
    first = page.evaluate("(p) => pixplot.toClient(p[0], p[1])", xy[0].tolist())
    second = page.evaluate("(p) => pixplot.toClient(p[0], p[1])", xy[7].tolist())
    page.mouse.click(*first)
    assert page.evaluate("pixplot.selection()") == [ids[0]]
    page.keyboard.down("Shift")
    page.mouse.click(*second)
    page.mouse.click(*first)
    page.keyboard.up("Shift")
    assert page.evaluate("pixplot.selection()") == [ids[7]]


def exclude_then_label(page, ids: list[str]) -> None:
    page.evaluate("(ids) => pixplot.select(ids)", ids[:2])
    page.keyboard.press("x")
    page.evaluate("(ids) => pixplot.select(ids)", ids[2:6])
    page.keyboard.press("t")  # focuses the label box
    page.keyboard.type("cat")
    page.keyboard.press("Enter")
    page.evaluate("pixplot.flushed()")


def test_static_mode_restores_state_after_reload(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    assert page.evaluate("pixplot.saveMode()") == "static"
    ids = ids_of(lattice_bundle)
    exclude_then_label(page, ids)
    page.reload()
    open_viewer(page, static_url)
    state = page.evaluate("pixplot.state()")
    assert sorted(state["excluded"]) == sorted(ids[:2])
    assert state["labels"] == {i: "cat" for i in ids[2:6]}


@pytest.fixture
def server_url(fresh_bundle: Path) -> Iterator[str]:
    from seeen_ext.server import create_app

    srv = make_server("127.0.0.1", 0, create_app(fresh_bundle, token="s3cret"), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()


def test_server_mode_sends_events_and_restores_state_after_reload(page, server_url, fresh_bundle):
    open_viewer(page, server_url + "#token=s3cret")
    assert page.evaluate("pixplot.saveMode()") == "server"
    ids = ids_of(fresh_bundle)
    exclude_then_label(page, ids)
    assert page.evaluate("pixplot.saveStatus().state") == "saved"
    # The server holds the state: a new tab (empty local queue) sees it.
    page.evaluate("localStorage.clear()")
    page.reload()
    open_viewer(page, server_url + "#token=s3cret")
    state = page.evaluate("pixplot.state()")
    assert sorted(state["excluded"]) == sorted(ids[:2])
    assert state["labels"] == {i: "cat" for i in ids[2:6]}
    import urllib.request

    with urllib.request.urlopen(server_url + "api/state") as res:
        server_state = json.load(res)
    assert server_state["labels"] == {i: "cat" for i in ids[2:6]}
    # Export comes from the server: the whole log, including the session before the reload.
    with page.expect_download() as dl:
        page.click("#export")
    doc = json.loads(Path(dl.value.path()).read_text())
    assert doc["labels"] == {i: "cat" for i in ids[2:6]}
    assert [e["type"] for e in doc["events"]] == ["exclude", "label"]


def test_server_mode_keeps_events_until_the_token_is_given(page, server_url, fresh_bundle):
    open_viewer(page, server_url)  # no token in the fragment: the server refuses writes
    ids = ids_of(fresh_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", ids[:1])
    page.keyboard.press("x")
    page.wait_for_function("pixplot.saveStatus().state === 'error'")
    page.goto("about:blank")
    open_viewer(page, server_url + "#token=s3cret")
    page.evaluate("pixplot.flushed()")
    assert page.evaluate("pixplot.saveStatus().state") == "saved"
    assert page.evaluate("pixplot.state().excluded") == ids[:1]


def test_undo_restores_the_prior_state_and_redo_reapplies(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", ids[:3])
    page.evaluate("pixplot.label('dog')")
    page.evaluate("(ids) => pixplot.select(ids)", ids[1:5])
    page.evaluate("pixplot.label('cat')")
    page.evaluate("pixplot.exclude()")
    page.keyboard.press("Control+z")
    assert page.evaluate("pixplot.state().excluded") == []
    page.keyboard.press("Control+z")
    assert page.evaluate("pixplot.state().labels") == {i: "dog" for i in ids[:3]}
    page.keyboard.press("Control+Shift+z")
    assert page.evaluate("pixplot.state().labels") == {ids[0]: "dog", **{i: "cat" for i in ids[1:5]}}
    types = [e["type"] for e in page.evaluate("pixplot.events()")]
    # Undoing "cat" gives ids 1-2 back their "dog" and unlabels ids 3-4; redo labels again.
    assert types == ["label", "label", "exclude", "include", "label", "unlabel", "label"]


def test_label_with_markup_is_shown_as_text(page, static_url, lattice_bundle):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_viewer(page, static_url)
    evil = "<img src=x onerror=alert(1)>"
    ids = ids_of(lattice_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", ids[:2])
    page.evaluate("(l) => pixplot.label(l)", evil)
    page.keyboard.press("3")  # labels panel
    page.wait_for_timeout(300)
    assert page.locator("#pane-labels .label-row .name").first.text_content() == evil
    page.keyboard.press("2")
    assert page.locator("#pane-selection .caption").first.text_content() == evil
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert dialogs == []


def test_export_file_holds_what_was_done(page, static_url, lattice_bundle, fresh_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    exclude_then_label(page, ids)
    with page.expect_download() as dl:
        page.click("#export")
    doc = json.loads(Path(dl.value.path()).read_text())
    assert doc["format"] == "pixplot-annotations" and doc["version"] == 1
    assert [(e["type"], sorted(e["items"]), e.get("label")) for e in doc["events"]] == [
        ("exclude", sorted(ids[:2]), None), ("label", sorted(ids[2:6]), "cat")]
    assert all(len(e["id"]) == 36 for e in doc["events"])
    assert doc["labels"] == {i: "cat" for i in ids[2:6]}
    assert sorted(doc["excluded"]) == sorted(ids[:2])
    # `pixplot annotations import` merges it into a served bundle of the same items.
    from seeen_ext.export import import_file
    from seeen_ext.store import open_store

    store = open_store(open_bundle(fresh_bundle))
    import_file(store, dl.value.path())
    state = store.state()
    store.close()
    assert state["labels"] == doc["labels"]
    assert sorted(state["excluded"]) == sorted(doc["excluded"])


def test_next_cluster_key_selects_an_unlabelled_cluster_and_label_marks_it_done(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    page.keyboard.press("n")
    first = page.evaluate("pixplot.selection()")
    assert len(first) == 9
    page.keyboard.press("t")
    page.keyboard.type("quadrant")
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("1")  # clusters panel
    page.wait_for_selector("#pane-clusters li.cluster.done", timeout=5000)
    page.keyboard.press("n")
    second = page.evaluate("pixplot.selection()")
    assert len(second) == 9 and not set(second) & set(first)


def test_switching_layout_moves_items_and_the_lasso_follows(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    page.keyboard.press("g")  # umap -> grid: item i goes to column i % 6, row i // 6 from the top
    page.wait_for_function("pixplot.app.layoutName === 'grid' && !pixplot.app.map.layoutAnim")
    result = page.evaluate("pixplot.box(-1.1, 0.8, 1.1, 1.1)")
    assert result["count"] == 6
    assert set(page.evaluate("pixplot.selection()")) == set(ids[:6])
    assert page.evaluate("pixplot.painted().painted") > 36 * 20


def test_send_queue_splits_an_oversized_event_and_the_server_stores_every_part(page, server_url, fresh_bundle):
    open_viewer(page, server_url + "#token=s3cret")
    ids = ids_of(fresh_bundle)
    page.evaluate("""async (ids) => {
        const { SendQueue } = await import('./assets/api.js');
        const q = new SendQueue({ token: 's3cret', storageKey: 'split-test', onStatus: () => {}, maxItems: 5 });
        q.push([{ id: 'big-event', type: 'label', items: ids, label: 'many' }]);
        for (let t = 0; t < 100 && q.queue.length; t++) await new Promise((r) => setTimeout(r, 50));
    }""", ids[:12])
    import urllib.request

    with urllib.request.urlopen(server_url + "api/events") as res:
        stored = json.load(res)["events"]
    assert sorted(e["id"] for e in stored) == ["big-event:0", "big-event:1", "big-event:2"]
    with urllib.request.urlopen(server_url + "api/state") as res:
        assert json.load(res)["labels"] == {i: "many" for i in ids[:12]}


def test_events_made_while_the_server_is_down_reach_it_after_a_restart(page, fresh_bundle):
    from seeen_ext.server import create_app

    srv = make_server("127.0.0.1", 0, create_app(fresh_bundle), threaded=True)
    port = srv.server_port
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}/"
    open_viewer(page, url)
    srv.shutdown()
    srv.server_close()
    ids = ids_of(fresh_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", ids[:3])
    page.keyboard.press("x")
    page.wait_for_function("pixplot.saveStatus().state === 'offline'")
    page.goto("about:blank")  # the tab is gone; the queue is in localStorage
    srv = make_server("127.0.0.1", port, create_app(fresh_bundle), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        open_viewer(page, url)
        page.evaluate("pixplot.flushed()")
        assert page.evaluate("pixplot.saveStatus().state") == "saved"
        import urllib.request

        with urllib.request.urlopen(url + "api/state") as res:
            assert sorted(json.load(res)["excluded"]) == sorted(ids[:3])
    finally:
        srv.shutdown()


def test_close_up_beyond_the_largest_point_still_paints_the_item(page, static_url):
    open_viewer(page, static_url)
    xy, _ = lattice()
    # Zoom until one item is wider than the map: drawn as a quad, not a point.
    page.evaluate("(p) => { const m = pixplot.app.map; pixplot.zoomTo(p[0], p[1], 1); "
                  "m.camera.k = 2000 / (m.baseSize * m.sizeScale); }", xy[14].tolist())
    assert page.evaluate("pixplot.app.map.pointPx() * devicePixelRatio > pixplot.app.map.maxPoint")
    stats = page.evaluate("pixplot.painted()")
    assert stats["painted"] > 0.9 * stats["total"]


def test_labels_panel_merges_by_rename_and_deletes(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    page.evaluate("(ids) => { pixplot.select(ids.slice(0, 2)); pixplot.label('cat'); "
                  "pixplot.select(ids.slice(2, 4)); pixplot.label('kitten'); }", ids)
    page.keyboard.press("3")
    row = page.locator("#pane-labels .label-row", has_text="kitten")
    row.get_by_role("button", name="Rename").click()
    page.locator("#pane-labels input.rename").fill("cat")
    page.locator("#pane-labels input.rename").press("Enter")
    assert page.evaluate("pixplot.state().labels") == {i: "cat" for i in ids[:4]}
    assert page.locator("#pane-labels .label-row").count() == 1
    page.keyboard.press("Control+z")  # the merge is undone: kitten is back on its two items
    assert page.evaluate("pixplot.state().labels") == {**{i: "cat" for i in ids[:2]}, **{i: "kitten" for i in ids[2:4]}}
    page.locator("#pane-labels .label-row", has_text="cat").get_by_role("button", name="Delete").click()
    assert page.evaluate("pixplot.state().labels") == {i: "kitten" for i in ids[2:4]}


def test_a_damaged_layout_file_is_reported_in_one_line_naming_the_file(page, fresh_bundle):
    from viewer_helpers import serve_static

    layout = fresh_bundle / "data" / "layouts" / "umap.f32"
    layout.write_bytes(layout.read_bytes()[:-8])  # one point short
    url, srv = serve_static(fresh_bundle)
    try:
        page.goto(url)
        page.wait_for_selector("#error:not([hidden])")
        text = page.text_content("#error")
    finally:
        srv.shutdown()
    assert "data/layouts/umap.f32" in text and "rebuild the bundle" in text
    assert "\n" not in text.strip()


def test_cached_zoomed_out_picture_matches_a_direct_draw_and_follows_a_pan(page, static_url):
    open_viewer(page, static_url)
    for _ in range(9):
        page.keyboard.press("[")  # small thumbnails: drawn as flat colour, like a zoomed-out map
    page.keyboard.press("-")
    assert page.evaluate("pixplot.app.map.pointPx()") < 6
    direct = page.evaluate("pixplot.app.map.cacheMin = Infinity, pixplot.painted()")
    cached = page.evaluate("pixplot.app.map.cacheMin = 0, pixplot.painted()")
    assert abs(cached["painted"] - direct["painted"]) <= 0.02 * direct["painted"]
    renders = page.evaluate("pixplot.app.map.stats.cacheRenders")
    assert renders >= 1
    # A small pan moves the cached picture; it is not drawn again.
    moved = page.evaluate("pixplot.pan(-40, 0), pixplot.app.map.paintedPixels()")
    assert page.evaluate("pixplot.app.map.stats.cacheRenders") == renders
    assert abs(moved["painted"] - direct["painted"]) <= 0.02 * direct["painted"]
    # Selecting changes what is drawn: the picture is redrawn.
    page.evaluate("pixplot.box(-1, -1, 1, 1)")
    page.evaluate("pixplot.painted()")
    assert page.evaluate("pixplot.app.map.stats.cacheRenders") > renders


def test_opening_index_html_from_disk_says_how_to_serve_it(page, lattice_bundle):
    page.goto((lattice_bundle / "index.html").as_uri())
    page.wait_for_selector("#error:not([hidden])")
    assert "python -m http.server" in page.text_content("#error")


def test_mouse_drawn_box_selects_the_items_inside_and_shift_adds(page, static_url, lattice_bundle):
    open_viewer(page, static_url)
    ids = ids_of(lattice_bundle)
    page.keyboard.press("b")  # box tool

    def corner(x, y):
        return page.evaluate("(p) => pixplot.toClient(p[0], p[1])", [x, y])

    def drag(a, b, shift=False):
        if shift:
            page.keyboard.down("Shift")
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        page.mouse.move(*b)
        page.mouse.up()
        if shift:
            page.keyboard.up("Shift")

    drag(corner(-0.9, -0.9), corner(-0.3, -0.3))  # columns 0-1 of rows 0-1
    assert set(page.evaluate("pixplot.selection()")) == {ids[0], ids[1], ids[6], ids[7]}
    drag(corner(0.7, 0.7), corner(0.9, 0.9), shift=True)  # adds the top-right item
    assert set(page.evaluate("pixplot.selection()")) == {ids[0], ids[1], ids[6], ids[7], ids[35]}


def test_upload_is_offered_only_when_served_and_shows_the_servers_refusal(page, server_url, static_url):
    open_viewer(page, static_url)
    assert not page.get_by_role("button", name="Upload").is_visible()
    open_viewer(page, server_url + "#token=s3cret")
    page.get_by_role("button", name="Upload").click()
    page.locator("dialog[open] input").fill("bucket-without-scheme")  # refused before any job starts
    page.locator("dialog[open] form button").first.click()
    page.wait_for_function("document.querySelector('dialog[open] p.muted').textContent.includes('s3://')")
    assert "must look like s3://bucket/prefix" in page.text_content("dialog[open] p.muted")


def test_a_second_annotator_sees_the_first_ones_labels_without_reloading(browser, server_url, fresh_bundle):
    ids = ids_of(fresh_bundle)
    pages = []
    for query in ("?author=ann", ""):  # the first names herself in the address
        ctx = browser.new_context(viewport={"width": 1000, "height": 700})
        pg = ctx.new_page()
        pg.errors = []
        pg.on("pageerror", lambda e, pg=pg: pg.errors.append(str(e)))
        open_viewer(pg, server_url + query + "#token=s3cret")
        pages.append(pg)
    first, second = pages
    try:
        assert first.input_value("#author") == "ann" and second.input_value("#author") == ""
        first.evaluate("(ids) => { pixplot.select(ids); pixplot.label('shared'); }", ids[:3])
        first.evaluate("pixplot.flushed()")
        second.wait_for_function("Object.keys(pixplot.state().labels).length === 3", timeout=15000)
        assert second.evaluate("pixplot.state().labels") == {i: "shared" for i in ids[:3]}
        # The second annotator types her name, and her own work goes on as usual; the first sees it.
        second.fill("#author", "bob <b>")
        second.press("#author", "Tab")
        second.evaluate("(ids) => { pixplot.select(ids); pixplot.exclude(); }", ids[3:4])
        second.evaluate("pixplot.flushed()")
        first.wait_for_function("pixplot.state().excluded.length === 1", timeout=15000)
        import urllib.request

        with urllib.request.urlopen(server_url + "api/events") as res:
            stored = json.load(res)["events"]
        assert {e["author"] for e in stored if e.get("label") == "shared"} == {"ann"}
        assert {e["author"] for e in stored if e["type"] == "exclude" and ids[3] in e["items"]} == {"bob <b>"}
        second.reload()
        second.wait_for_function("document.body.dataset.ready === '1'", timeout=30000)
        assert second.input_value("#author") == "bob <b>"  # remembered in this browser
    finally:
        for pg in pages:
            pg.context.close()

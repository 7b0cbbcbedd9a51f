"""Search and filters in a real browser, driven through the Filter panel and the keys: literal
text (never a pattern, never markup), facets with counts that compose, a year range, dimming, and
`e` turning the filter into a selection; the same static and served."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from viewer_helpers import lattice, open_viewer, serve_static
from werkzeug.serving import make_server

from pixplot.testing import write_synthetic_bundle

pytestmark = pytest.mark.browser

CATEGORIES = ["cats", "dogs", "birds"]


def meta_of(i: int) -> dict:
    """36 items: a category each, tags, a year from 1990 on, a metadata `label`, and descriptions
    holding regex and HTML characters."""
    m = {"category": CATEGORIES[i % 3], "tags": ["red"] if i % 2 else ["blue", "round"],
         "date": f"{1990 + i}-05-01", "label": "even" if i % 2 == 0 else "odd",
         "description": f"photo {i}"}
    if i == 4:
        m["description"] = "a.c <b>bold</b> (x+"
    if i == 5:
        m["description"] = "abc plain"
    return m


def write_meta_bundle(root: Path) -> Path:
    xy, clusters = lattice()
    bundle = write_synthetic_bundle(root, positions=xy, cluster_labels=clusters)
    items_path = bundle / "data" / "items.json"
    doc = json.loads(items_path.read_text())
    for i, it in enumerate(doc["items"]):
        it["meta"] = meta_of(i)
        it["source"] = f"photos/img_{i:02d}.jpg"
    items_path.write_text(json.dumps(doc))
    man_path = bundle / "data" / "manifest.json"
    man = json.loads(man_path.read_text())
    man["metadata_fields"] = ["category", "tags", "date", "label", "description"]
    man_path.write_text(json.dumps(man))
    return bundle


@pytest.fixture
def meta_bundle(tmp_path: Path) -> Path:
    return write_meta_bundle(tmp_path / "bundle")


@pytest.fixture(params=["static", "served"])
def url(request: pytest.FixtureRequest, meta_bundle: Path) -> Iterator[str]:
    if request.param == "static":
        u, srv = serve_static(meta_bundle)
        yield u
        srv.shutdown()
        return
    from seeen_ext.server import create_app

    srv = make_server("127.0.0.1", 0, create_app(meta_bundle), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()


def ids_of(bundle: Path) -> list[str]:
    return [it["id"] for it in json.loads((bundle / "data" / "items.json").read_text())["items"]]


def search(page, text: str) -> None:
    page.keyboard.press("/")
    page.fill("#filter-text", text)
    page.wait_for_function("(t) => pixplot.app.filter.text === t && !pixplot.app.filterPending", arg=text)


def dimmed(page) -> list[bool]:
    return page.evaluate("pixplot.settled().then(() => Array.from(pixplot.app.map.flags, (f) => (f & 8) !== 0))")


def test_search_is_literal_text_and_e_selects_what_it_matches(page, url, meta_bundle):
    open_viewer(page, url)
    ids = ids_of(meta_bundle)
    search(page, "a.c")  # a dot is a dot: "abc plain" does not match
    assert page.text_content("#filter-count") == "1 of 36 match"
    assert dimmed(page) == [i != 4 for i in range(36)]
    page.keyboard.press("Escape")  # leave the search box
    page.keyboard.press("e")
    assert page.evaluate("pixplot.selection()") == [ids[4]]
    search(page, "<b>bold</b> (x+")  # markup and pattern characters, literally
    assert page.text_content("#filter-count") == "1 of 36 match"
    search(page, "IMG_07")  # file names, case-insensitive
    assert page.text_content("#filter-count") == "1 of 36 match"
    search(page, "round")  # tags
    assert page.text_content("#filter-count") == "18 of 36 match"
    page.click("#filter-clear")
    page.wait_for_function("pixplot.app.filterMask === null")
    assert not any(dimmed(page))


def test_annotation_labels_are_searched_and_listed_as_text(page, url, meta_bundle):
    open_viewer(page, url)
    ids = ids_of(meta_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", ids[10:13])
    page.keyboard.press("t")
    page.keyboard.type("<i>tabby</i>")
    page.keyboard.press("Enter")
    search(page, "tabby")
    assert page.text_content("#filter-count") == "3 of 36 match"
    facet = page.locator("ul.facet[data-facet=label]")
    assert "<i>tabby</i>" in facet.text_content()
    assert page.locator("#pane-filters i").count() == 0  # shown as text, never as markup


def test_facets_show_counts_and_compose_with_the_year_range(page, url, meta_bundle):
    open_viewer(page, url)
    ids = ids_of(meta_bundle)
    page.keyboard.press("5")
    cats = page.locator("ul.facet[data-facet=category] li")
    assert sorted(t.strip() for t in cats.all_text_contents()) == ["birds 12", "cats 12", "dogs 12"]
    page.locator("ul.facet[data-facet=category] label", has_text="cats").click()
    page.wait_for_function("pixplot.app.filterCount === 12")
    page.locator("ul.facet[data-facet=tags] label", has_text="red").click()  # cats and odd: 3, 9, 15, ...
    page.wait_for_function("pixplot.app.filterCount === 6")
    page.locator("ul.facet[data-facet=metaLabel] label", has_text="odd").click()  # the same six
    page.wait_for_function("pixplot.app.filterCount === 6")
    page.fill("#year-from", "1995")
    page.dispatch_event("#year-from", "change")
    page.fill("#year-to", "2011")
    page.dispatch_event("#year-to", "change")  # years 1995..2011: items 5..21
    page.wait_for_function("pixplot.app.filterCount === 3")
    page.locator("#year-to").blur()
    page.keyboard.press("e")
    assert sorted(page.evaluate("pixplot.selection()")) == sorted(ids[i] for i in (9, 15, 21))
    assert page.text_content("#filter-count") == "3 of 36 match"


def test_status_and_cluster_facets_follow_the_annotations(page, url, meta_bundle):
    open_viewer(page, url)
    ids = ids_of(meta_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", [ids[0], ids[1]])
    page.keyboard.press("x")
    page.keyboard.press("5")
    page.locator("ul.facet[data-facet=status] label", has_text="excluded").click()
    page.wait_for_function("pixplot.app.filterCount === 2")
    page.evaluate("(ids) => pixplot.select(ids)", [ids[2]])
    page.keyboard.press("x")  # a third exclusion: the filter follows
    page.wait_for_function("pixplot.app.filterCount === 3")
    page.locator("ul.facet[data-facet=cluster] label", has_text="cluster 0").click()  # cols 0-2, rows 0-2
    page.wait_for_function("pixplot.app.filterCount === 3")
    page.locator("ul.facet[data-facet=status] label", has_text="excluded").click()  # off again
    page.wait_for_function("pixplot.app.filterCount === 9")

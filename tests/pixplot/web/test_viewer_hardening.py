"""Newcomer frictions of the viewer (issue 15 items 12, 13, 16, 17), each in a real browser: undo
survives a reload (served: the server's log; static: IndexedDB), the help opens at its top with
every key, a metadata `label` column is named apart from the annotation label, and a static bundle
loads without a console error."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_filters import write_meta_bundle
from viewer_helpers import open_viewer, serve_static
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

NEW_KEYS = ["z", "PageDown", "PageUp", "/", "e", "5"]


@pytest.fixture
def meta_bundle(tmp_path: Path) -> Path:
    return write_meta_bundle(tmp_path / "bundle")


@pytest.fixture
def served(meta_bundle: Path) -> Iterator[str]:
    from seeen_ext.server import create_app

    srv = make_server("127.0.0.1", 0, create_app(meta_bundle), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}/"
    srv.shutdown()


@pytest.fixture
def static(meta_bundle: Path) -> Iterator[str]:
    url, srv = serve_static(meta_bundle)
    yield url
    srv.shutdown()


def ids_of(bundle: Path) -> list[str]:
    return [it["id"] for it in json.loads((bundle / "data" / "items.json").read_text())["items"]]


def exclude_then_label(page, ids: list[str]) -> None:
    page.evaluate("(ids) => pixplot.select(ids)", ids[:2])
    page.keyboard.press("x")
    page.evaluate("(ids) => pixplot.select(ids)", ids[2:6])
    page.keyboard.press("t")
    page.keyboard.type("cat")
    page.keyboard.press("Enter")
    page.evaluate("pixplot.flushed()")


def reload(page, url: str) -> None:
    page.reload()
    open_viewer(page, url)
    page.wait_for_function("pixplot.saveMode() === 'static' || pixplot.app.store.historyRestored === true")


def undo_survives_reload(page, url: str, ids: list[str]) -> None:
    open_viewer(page, url)
    exclude_then_label(page, ids)
    reload(page, url)
    page.keyboard.press("Control+z")  # the label goes
    page.evaluate("pixplot.flushed()")
    state = page.evaluate("pixplot.state()")
    assert state["labels"] == {}
    assert sorted(state["excluded"]) == sorted(ids[:2])
    reload(page, url)
    page.keyboard.press("Control+z")  # then the exclusion, after a second reload
    page.evaluate("pixplot.flushed()")
    state = page.evaluate("pixplot.state()")
    assert state["labels"] == {} and state["excluded"] == []
    assert page.text_content("#toast") != "Nothing to undo."
    reload(page, url)
    page.keyboard.press("Control+Shift+z")  # redo survives too: the exclusion comes back
    page.evaluate("pixplot.flushed()")
    assert sorted(page.evaluate("pixplot.state()")["excluded"]) == sorted(ids[:2])


def test_undo_survives_a_reload_in_a_static_bundle(page, static, meta_bundle):
    undo_survives_reload(page, static, ids_of(meta_bundle))
    assert page.evaluate("pixplot.saveMode()") == "static"


def test_undo_survives_a_reload_when_served_and_the_server_agrees(page, served, meta_bundle):
    ids = ids_of(meta_bundle)
    undo_survives_reload(page, served, ids)
    assert page.evaluate("pixplot.saveMode()") == "server"
    with urllib.request.urlopen(served + "api/state") as res:
        state = json.load(res)
    assert state["labels"] == {}
    assert sorted(state["excluded"]) == sorted(ids[:2])


def test_help_opens_at_its_top_with_focus_off_close_and_lists_every_new_key(page, static):
    open_viewer(page, static)
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    assert page.evaluate("document.querySelector('#help').scrollTop") == 0
    assert page.evaluate("document.activeElement.textContent") != "Close"
    top = page.evaluate("document.querySelector('#help h2').getBoundingClientRect().top")
    assert 0 <= top < 200
    keys = page.locator("#help kbd").all_text_contents()
    assert all(k in keys for k in NEW_KEYS)
    page.keyboard.press("Escape")
    page.wait_for_selector("#help", state="hidden")
    docs = (Path(__file__).resolve().parents[3] / "docs" / "viewer.md").read_text()
    assert all(f"`{k}`" in docs for k in NEW_KEYS)


def test_colour_menu_and_detail_name_a_metadata_label_apart_from_the_annotation_label(page, static, meta_bundle):
    open_viewer(page, static)
    options = page.locator("#toolbar select[title='Colour by (k)'] option").all_text_contents()
    assert "Colour: label (annotations)" in options and "Colour: label (metadata)" in options
    assert len(options) == len(set(options))
    ids = ids_of(meta_bundle)
    page.evaluate("(ids) => pixplot.select(ids)", ids[:1])
    page.keyboard.press("t")
    page.keyboard.type("kitten")
    page.keyboard.press("Enter")
    page.evaluate("(id) => pixplot.app.store.setView({ detail: pixplot.app.store.indices([id])[0] })", ids[0])
    page.wait_for_selector("#detail table")
    heads = page.locator("#detail th").all_text_contents()
    assert len(heads) == len(set(heads))
    rows = dict(zip(heads, page.locator("#detail td").all_text_contents(), strict=True))
    assert rows["label (annotation)"] == "kitten" and rows["label (metadata)"] == "even"


def test_a_static_bundle_loads_without_a_console_error_or_an_api_request(page, static):
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: requests.append(r.url))
    open_viewer(page, static)
    page.wait_for_timeout(500)
    assert page.evaluate("pixplot.saveMode()") == "static"
    assert errors == []
    assert not [u for u in requests if "/api/" in u]

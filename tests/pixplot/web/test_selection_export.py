"""Exporting the selection from the viewer, served and static: CSV (with cluster ids, guarded
against spreadsheet formulas), JSON, and a ZIP of the images in one folder per label."""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from viewer_helpers import lattice, open_viewer, serve_static
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser
FORMULA = "=HYPERLINK(\"http://x\")"


def ids_of(bundle: Path) -> list[str]:
    return [it["id"] for it in json.loads((bundle / "data" / "items.json").read_text())["items"]]


@pytest.fixture(params=["static", "served"])
def viewer_url(request, fresh_bundle: Path) -> Iterator[str]:
    if request.param == "static":
        url, srv = serve_static(fresh_bundle)
    else:
        from seeen_ext.server import create_app

        srv = make_server("127.0.0.1", 0, create_app(fresh_bundle), threaded=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{srv.server_port}/"
    yield url
    srv.shutdown()


def download(page, selector: str) -> bytes:
    page.click("text=Selection")
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_bytes()


def test_selection_exports_as_csv_json_and_zip(page, viewer_url, fresh_bundle):
    open_viewer(page, viewer_url)
    ids = ids_of(fresh_bundle)
    _, clusters = lattice()
    chosen = [0, 1, 2, 9, 35]
    page.evaluate("(ids) => pixplot.select(ids)", [ids[i] for i in chosen[:2]])
    page.evaluate("pixplot.label('cat')")
    page.evaluate("(ids) => pixplot.select(ids)", [ids[2]])
    page.evaluate("(l) => pixplot.label(l)", FORMULA)
    page.evaluate("(ids) => pixplot.select(ids)", [ids[9]])
    page.evaluate("pixplot.exclude()")
    page.evaluate("(ids) => pixplot.select(ids)", [ids[i] for i in chosen])

    rows = list(csv.DictReader(io.StringIO(download(page, "button.export-csv").decode())))
    assert list(rows[0]) == ["item_id", "source", "box", "cluster_id", "label", "excluded"]
    by = {r["item_id"]: r for r in rows}
    assert set(by) == {ids[i] for i in chosen}
    assert all(int(by[ids[i]]["cluster_id"]) == clusters[i] for i in chosen)
    assert by[ids[0]]["label"] == "cat" and by[ids[2]]["label"] == "'" + FORMULA
    assert by[ids[9]]["excluded"] == "true" and by[ids[35]]["label"] == ""

    doc = json.loads(download(page, "button.export-json"))
    assert doc["format"] == "pixplot-selection" and len(doc["items"]) == len(chosen)
    assert {it["id"]: it["label"] for it in doc["items"]}[ids[2]] == FORMULA  # JSON keeps the exact label

    with zipfile.ZipFile(io.BytesIO(download(page, "button.export-zip"))) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        folders = {n.split("/")[0] for n in names if "/" in n}
        assert folders == {"cat", "_excluded", "_unlabelled", FORMULA.replace("/", "_")}
        assert "labels.csv" in names and len(names) == len(chosen) + 1
        first = next(n for n in names if n.startswith(f"cat/{ids[0]}_"))
        assert zf.read(first) == (fresh_bundle / "data" / "thumbs" / f"{ids[0]}.jpg").read_bytes()
        inner = list(csv.DictReader(io.StringIO(zf.read("labels.csv").decode())))
        assert {r["item_id"] for r in inner} == {ids[i] for i in chosen}


def test_export_buttons_wait_for_a_selection(page, viewer_url):
    open_viewer(page, viewer_url)
    page.click("text=Selection")
    assert page.is_disabled("button.export-csv") and page.is_disabled("button.export-zip")
    page.evaluate("pixplot.box(-1, -1, 1, 1)")
    assert page.is_enabled("button.export-csv")

"""Clusters given by a metadata column (--clusters-from) show their value as their name, as text."""

from __future__ import annotations

import json

import pytest
from viewer_helpers import open_viewer, serve_static

pytestmark = pytest.mark.browser


def test_named_clusters_show_their_names_as_text(page, fresh_bundle):
    data = fresh_bundle / "data"
    manifest = json.loads((data / "manifest.json").read_text())
    path = data / manifest["clusterings"][0]["file"]
    doc = json.loads(path.read_text())
    names = ["series A", "<b>bold</b>", "=1+1", "series D"]
    for c, name in zip(doc["clusters"], names, strict=False):
        c["name"] = name
    path.write_text(json.dumps(doc))
    url, srv = serve_static(fresh_bundle)
    try:
        open_viewer(page, url)
        page.wait_for_selector("li.cluster .name")
        shown = page.eval_on_selector_all("li.cluster .name", "els => els.map((e) => e.textContent)")
        assert set(shown) == set(names[:len(doc["clusters"])])
        assert page.eval_on_selector_all("li.cluster .name b", "els => els.length") == 0
    finally:
        srv.shutdown()

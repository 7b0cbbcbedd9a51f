"""The viewer's files: every module is preloaded by index.html, and no code writes HTML from strings."""

from __future__ import annotations

import re
from pathlib import Path

from pixplot.bundle import WEB_DIR as WEB


def modules() -> list[Path]:
    return sorted((WEB / "assets").rglob("*.js"))


def test_index_preloads_every_module_the_page_imports():
    html = (WEB / "index.html").read_text()
    preloaded = set(re.findall(r'rel="modulepreload" href="([^"]+)"', html))
    expected = {p.relative_to(WEB).as_posix() for p in modules()} - {"assets/main.js", "assets/items-worker.js"}
    assert preloaded == expected


def test_no_module_builds_html_from_strings():
    # Labels and metadata reach the page only as text nodes (dom.js `h`), never as markup.
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment")
    offenders = [p.name for p in modules() if sinks.search(p.read_text())]
    assert offenders == []


def test_every_import_points_at_an_existing_module():
    for p in modules():
        for target in re.findall(r"from '(\.[^']+)'", p.read_text()):
            assert (p.parent / target).resolve().is_file(), f"{p.name} imports missing {target}"


def test_the_app_mediator_touches_no_dom_and_no_map_internals():
    # app.js and actions/ wire store, map and api; tooltip, toast, downloads and help live in ui/ and panels/.
    for path in [WEB / "assets" / "app.js", *sorted((WEB / "assets" / "actions").glob("*.js"))]:
        src = path.read_text()
        assert not re.search(r"\bdocument\.\w|\bwindow\.\w|from '\.\.?/dom\.js'|\.camera\b", src), path.name


def test_only_the_map_uses_the_camera():
    users = [p.name for p in modules() if ".camera" in p.read_text() and p.name not in ("map.js", "camera.js")]
    assert users == []

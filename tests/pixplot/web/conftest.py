"""Browser fixtures: Debian's Chromium under Playwright, with WebGL2 on SwiftShader, and bundles
served from 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from viewer_helpers import CHROMIUM, CHROMIUM_ARGS, lattice, serve_static

from pixplot.testing import write_synthetic_bundle


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1000, "height": 700}, accept_downloads=True)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def lattice_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    xy, clusters = lattice()
    return write_synthetic_bundle(tmp_path_factory.mktemp("lattice"), positions=xy, cluster_labels=clusters)


@pytest.fixture
def fresh_bundle(tmp_path: Path) -> Path:
    """A bundle of its own, for tests that write annotations next to it (server mode)."""
    xy, clusters = lattice()
    return write_synthetic_bundle(tmp_path / "bundle", positions=xy, cluster_labels=clusters)


@pytest.fixture
def static_url(lattice_bundle: Path) -> Iterator[str]:
    url, srv = serve_static(lattice_bundle)
    yield url
    srv.shutdown()

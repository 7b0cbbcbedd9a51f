"""Helpers for the viewer's browser tests: Chromium flags, the lattice bundle, static serving."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]

#: A 6 x 6 lattice at known data coordinates; item i sits at column i % 6, row i // 6.
STEPS = np.linspace(-0.8, 0.8, 6)


def lattice() -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.meshgrid(np.arange(6), np.arange(6))
    cols, rows = cols.ravel(), rows.ravel()
    xy = np.stack([STEPS[cols], STEPS[rows]], axis=1)
    clusters = (cols >= 3).astype(int) + 2 * (rows >= 3).astype(int)
    return xy, clusters


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_static(root: Path) -> tuple[str, http.server.ThreadingHTTPServer]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{srv.server_address[1]}/", srv


def open_viewer(page: object, url: str) -> None:
    """Load the viewer and wait until it is ready (or fail with its error banner)."""
    page.goto(url)
    page.wait_for_function(
        "document.body.dataset.ready === '1' || !document.querySelector('#error').hidden", timeout=30000)
    error = page.evaluate("document.querySelector('#error').hidden ? '' : document.querySelector('#error').textContent")
    assert not error, error
    assert not page.errors, page.errors

"""A copy written by `pixplot share` opens from a static web server running as another user, with
the publisher's labels, and holds no database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from viewer_helpers import lattice, open_viewer

from pixplot.bundle import open_bundle
from pixplot.testing import write_synthetic_bundle
from seeen_ext.share import share_bundle
from seeen_ext.store import open_store

pytestmark = pytest.mark.browser
OTHER_USER = "nobody"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder another user can reach (pytest's own tmp folders are private to us)."""
    d = Path(tempfile.mkdtemp(prefix="pixplot-share-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def serve_as_other_user(root: Path) -> tuple[str, subprocess.Popen]:
    if os.geteuid() != 0:
        pytest.skip("switching to another user for the static server needs root")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["runuser", "-u", OTHER_USER, "--", PYTHON, "-m", "http.server", "--bind", "127.0.0.1",
                             str(port), "--directory", str(root)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return url, proc


def test_shared_copy_opens_from_a_static_server_run_as_another_user(page, tmp_path, public_dir):
    xy, clusters = lattice()
    bundle = write_synthetic_bundle(tmp_path / "bundle", positions=xy, cluster_labels=clusters)
    b = open_bundle(bundle)
    store = open_store(b)
    store.append([{"id": "e1", "type": "label", "items": b.ids[:5], "label": "cat"},
                  {"id": "e2", "type": "exclude", "items": [b.ids[7]]}])
    store.close()
    dest = public_dir / "site"
    share_bundle(bundle, dest)
    assert not [p for p in dest.rglob("*") if "sqlite" in p.name or p.name.startswith(".")]
    # A control file only we may read: the server must not serve it, which shows it is another user.
    (dest / "private.txt").write_text("mine")
    os.chmod(dest / "private.txt", 0o600)
    url, proc = serve_as_other_user(dest)
    try:
        assert status(url + "private.txt") != 200
        assert status(url + "index.html") == 200 and status(url + "data/manifest.json") == 200
        open_viewer(page, url)
        state = page.evaluate("pixplot.state()")
        assert state["labels"] == {i: "cat" for i in b.ids[:5]} and state["excluded"] == [b.ids[7]]
        assert page.evaluate("pixplot.saveStatus()").get("text", "").startswith("Shared labels")
        stats = page.evaluate("pixplot.painted()")
        assert stats["painted"] > 36 * 20 and stats["colours"] > 4
    finally:
        proc.terminate()
        proc.wait(timeout=10)

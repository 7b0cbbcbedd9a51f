"""--copy_web_only refreshes an old bundle's viewer; --gzip writes reproducible precompressed siblings."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pixplot.bundle import WEB_DIR
from pixplot.errors import UserError
from pixplot.publish import gzip_siblings, refresh_viewer
from pixplot.testing import write_synthetic_bundle


def test_copy_web_only_replaces_the_viewer_and_leaves_data_alone(tmp_path):
    b = write_synthetic_bundle(tmp_path / "b", n=50)
    (b / "assets" / "main.js").write_text("// an old viewer\n")
    before = {p: p.read_bytes() for p in (b / "data").rglob("*") if p.is_file()}
    n = refresh_viewer(b)
    assert n == len([p for p in WEB_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts])
    assert (b / "assets" / "main.js").read_bytes() == (WEB_DIR / "assets" / "main.js").read_bytes()
    assert {p: p.read_bytes() for p in (b / "data").rglob("*") if p.is_file()} == before


def test_copy_web_only_needs_a_bundle(tmp_path):
    with pytest.raises(UserError, match="not a bundle"):
        refresh_viewer(tmp_path)


def test_gzip_writes_identical_reproducible_siblings(tmp_path):
    b = write_synthetic_bundle(tmp_path / "b", n=300)
    files, raw, packed = gzip_siblings(b / "data")
    items = b / "data" / "items.json"
    gz = b / "data" / "items.json.gz"
    assert files >= 3 and packed < raw
    assert gzip.decompress(gz.read_bytes()) == items.read_bytes()
    lay = b / "data" / "layouts" / "umap.f32"
    assert gzip.decompress(Path(f"{lay}.gz").read_bytes()) == lay.read_bytes()
    first = gz.read_bytes()
    gzip_siblings(b / "data")
    assert gz.read_bytes() == first  # no timestamp inside
    assert not list((b / "data").rglob("*.jpg.gz"))  # images are compressed already
    items.unlink()
    gzip_siblings(b / "data")
    assert not gz.exists()  # no stale sibling of a removed file

"""`pixplot share`: a publishable copy with originals as real files, labels baked in, nothing private."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from seeen_ext.share import public_manifest, share_bundle
from seeen_ext.store import open_store


def annotate(bundle: Path) -> dict:
    b = open_bundle(bundle)
    store = open_store(b)
    store.append([{"id": "e1", "type": "label", "items": b.ids[:2], "label": "cat", "author": "Alice Secret"},
                  {"id": "e2", "type": "exclude", "items": [b.ids[3]], "author": "Alice Secret"}])
    state = store.state()
    store.close()
    return state


def tree(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")}


def test_shared_copy_is_self_contained_and_holds_nothing_private(bundle: Path, tmp_path: Path) -> None:
    state = annotate(bundle)
    images = bundle.parent / f"{bundle.name}-images"
    dest = tmp_path / "public"
    res = share_bundle(bundle, dest)
    files = tree(dest)
    assert "index.html" in files and "assets/app.js" in files and "data/manifest.json" in files
    # Nothing private: no store, no dot-files, no cache, no local path, no annotator name.
    assert not [n for n in files if "sqlite" in n or any(part.startswith(".") for part in n.split("/"))]
    for name, p in files.items():
        if p.is_file() and name.endswith((".json", ".csv", ".html", ".js")):
            text = p.read_text("utf-8")
            assert str(images) not in text and str(bundle) not in text and "Alice Secret" not in text, name
    # Originals are real files with the source bytes.
    b = open_bundle(bundle)
    originals = {it["original"] for it in b.items if it["original"]}
    assert res.originals == len(originals) > 0
    for rel in originals:
        copied = dest / "data" / rel
        assert not copied.is_symlink() and copied.read_bytes() == (b.data / rel).resolve().read_bytes()
    # Labels baked in, read-only, named by the manifest.
    manifest = json.loads((dest / "data" / "manifest.json").read_text())
    baked = json.loads((dest / "data" / manifest["annotations"]).read_text())
    assert baked["read_only"] is True
    assert baked["labels"] == state["labels"] and baked["excluded"] == state["excluded"]
    assert "images" not in manifest["options"] and manifest["options"]["seed"] == 24
    assert public_manifest({"options": {"layout_files": ["mds=/home/me/mds.csv"], "gzip": True,
                                         "plugin_options": {"geojson": "/home/me/world.json", "x": 1}}})[
        "options"] == {"gzip": True, "plugin_options": {"x": 1}}
    # Readable by a web server running as another user.
    for name, p in files.items():
        want = 0o755 if p.is_dir() else 0o644
        assert stat.S_IMODE(p.stat().st_mode) == want, name
    # The shared copy opens with the same reader.
    assert open_bundle(dest).ids == b.ids


def test_zip_holds_the_same_files_with_readable_modes(bundle: Path, tmp_path: Path) -> None:
    annotate(bundle)
    share_bundle(bundle, tmp_path / "public", zip_path=tmp_path / "public.zip")
    with zipfile.ZipFile(tmp_path / "public.zip") as zf:
        names = {i.filename for i in zf.infolist()}
        modes = {stat.S_IMODE(i.external_attr >> 16) for i in zf.infolist()}
        manifest = json.loads(zf.read("data/manifest.json"))
    folder = {n for n, p in tree(tmp_path / "public").items() if p.is_file()}
    assert names == folder and modes == {0o644}
    assert manifest["annotations"] == "annotations.json"


def test_a_missing_original_is_reported_and_dropped_not_fatal(bundle: Path, tmp_path: Path) -> None:
    images = bundle.parent / f"{bundle.name}-images"
    (images / "img_001.jpg").unlink()
    res = share_bundle(bundle, tmp_path / "public")
    assert res.originals_missing == ["img_001.jpg"]
    items = json.loads((tmp_path / "public" / "data" / "items.json").read_text())["items"]
    assert [it["original"] for it in items if it["source"] == "img_001.jpg"] == [None]


def test_destination_inside_the_bundle_or_not_empty_is_refused(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot go inside the bundle"):
        share_bundle(bundle, bundle / "public")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(UserError, match="not an empty folder"):
        share_bundle(bundle, tmp_path / "full")
    with pytest.raises(UserError, match="name a destination"):
        share_bundle(bundle)


def test_share_command_prints_one_summary_line(bundle: Path, tmp_path: Path) -> None:
    annotate(bundle)
    r = subprocess.run([sys.executable, "-m", "pixplot", "share", str(bundle), str(tmp_path / "pub")],
                       capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "2 labelled and 1 excluded items baked in" in r.stdout
    r = subprocess.run([sys.executable, "-m", "pixplot", "share", str(bundle), str(tmp_path / "pub")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not an empty folder" in r.stderr

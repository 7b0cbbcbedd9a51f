"""A build over a folder holding every kind of hostile input at once (issue 15, items 1-6).

Every name in the folder must end up as an item or as a named skip in data/skipped.csv; the
build must finish (no hang on the pipe, no crash on links), read no oversized file, keep going
past a megabyte metadata cell, and say where metadata rows went.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import synthetic_photo, write_bad_files, write_collection

pytestmark = pytest.mark.slow


def _hostile_folder(tmp: Path) -> tuple[Path, Path]:
    images, outside = tmp / "images", tmp / "outside"
    write_collection(images, per_class=5)
    write_bad_files(images / "bad")
    (outside / "library").mkdir(parents=True)
    synthetic_photo(0, 501).save(outside / "solo.jpg")
    synthetic_photo(1, 502).save(outside / "library" / "l1.jpg")
    synthetic_photo(2, 503).save(outside / "library" / "l2.jpg")
    os.symlink(outside / "solo.jpg", images / "linked_solo.jpg")  # 1: a file outside --images
    os.symlink(outside / "library", images / "library")  # 1: a folder outside
    os.symlink("/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd",
               images / "system.txt")  # 1: a non-image outside
    os.symlink("loop_b", images / "loop_a")  # 1: a link loop
    os.symlink("loop_a", images / "loop_b")
    os.symlink("..", images / "warm" / "up")  # 1: a folder loop
    os.symlink("gone.jpg", images / "dangling.jpg")  # 1: a dangling link
    os.symlink("warm/warm_000.jpg", images / "alias.jpg")  # 2: a link inside the tree
    os.symlink("stripes", images / "stripes_again")  # 2: a folder link inside the tree
    os.mkfifo(images / "pipe.jpg")  # 3: would block a reader forever
    with open(images / "huge.bin", "wb") as f:  # 4: above the cap (sparse: no disk, no time)
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(64 << 20)
    with open(images / "movie.mov", "wb") as f:  # 4: under the cap, not an image
        f.write(b"\x00\x00\x00\x20ftypqt  ")
        f.truncate(3 << 20)
    shutil.copy(images / "checks" / "checks_000.jpg", images / "checks" / "copy.jpg")  # 6: byte duplicate
    meta = tmp / "meta.csv"
    with meta.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["filename", "category", "description"])
        w.writerow(["warm/warm_001.jpg", "sunny", "y" * 1_000_000])  # 5: a megabyte cell
        w.writerow(["checks/copy.jpg", "from-the-copy", ""])  # 6: a row for the skipped duplicate
        w.writerow(["alias.jpg", "from-the-link", ""])  # 6: a row for the link inside the tree
        w.writerow(["linked_solo.jpg", "outside", ""])  # 1: a row written for a link's own name
        w.writerow(["nowhere.jpg", "lost", ""])  # 6: matches nothing
    return images, meta


def test_every_hostile_file_is_an_item_or_a_named_skip(tmp_path):
    images, meta = _hostile_folder(tmp_path)
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-m", "pixplot", "build", "--images", str(images), "--metadata", str(meta),
                        "--out_dir", str(out), "--max_file_size", "4M", "--layouts", "tsne", "--cluster-on",
                        "embedding", "--min_cluster_size", "3", "--quiet"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    items = json.loads((out / "data" / "items.json").read_text())["items"]
    sources = {it["source"]: it for it in items}
    with open(out / "data" / "skipped.csv", newline="") as f:
        skipped = {row["path"]: row["reason"] for row in csv.DictReader(f)}

    # Every name in the folder, links and special files included (links are not descended into).
    names = set()
    for dirpath, dirnames, filenames in os.walk(images):
        for name in [*filenames, *dirnames]:
            p = Path(dirpath) / name
            if p.is_symlink() or not p.is_dir():
                names.add(p.relative_to(images).as_posix())
    names.discard("library")  # a followed folder link: its files are items under its name
    assert {"library/l1.jpg", "library/l2.jpg"} <= set(sources)
    unaccounted = {n for n in names if n not in sources and n not in skipped}
    assert not unaccounted
    assert not set(sources) & set(skipped)

    assert sources["linked_solo.jpg"]["meta"] == {"category": "outside"}
    assert skipped["loop_a"] == skipped["loop_b"] == "symlink loop"
    assert skipped["warm/up"].startswith("symlink loop")
    assert skipped["dangling.jpg"].startswith("dangling symlink")
    assert skipped["system.txt"] == "not an image (unknown format)"
    assert skipped["alias.jpg"] == "duplicate of warm/warm_000.jpg (a symlink to the same file)"
    assert skipped["stripes_again"] == "duplicate of stripes/ (a symlink to that folder)"
    assert skipped["pipe.jpg"] == "not a regular file (named pipe)"
    assert skipped["huge.bin"].startswith("too large (67,108,864 bytes")
    assert skipped["movie.mov"] == "not an image (unknown format)"
    assert skipped["checks/copy.jpg"] == "duplicate of checks/checks_000.jpg"
    for name, word in {"empty.jpg": "empty", "truncated.jpg": "truncated", "bomb.png": "decompression bomb",
                       "notes.txt": "not an image"}.items():
        assert word in skipped[f"bad/{name}"]

    desc = sources["warm/warm_001.jpg"]["meta"]["description"]
    assert len(desc) == 10_001 and desc.startswith("yyy")  # cut, with a warning
    assert "cell(s) longer than 10000" in r.stderr and "meta.csv" in r.stderr
    assert sources["checks/checks_000.jpg"]["meta"] == {"category": "from-the-copy"}
    assert sources["warm/warm_000.jpg"]["meta"] == {"category": "from-the-link"}
    assert "2 metadata rows name a file skipped as a duplicate" in r.stderr
    assert "1 metadata rows matched no file" in r.stdout
    assert "1 metadata rows match no file (first: nowhere.jpg)" in r.stderr
    manifest = json.loads((out / "data" / "manifest.json").read_text())
    assert manifest["counts"]["skipped"] == len(skipped) and manifest["counts"]["items"] == len(items)
    assert manifest["options"]["max_file_size"] == 4 << 20


def test_raising_the_size_cap_reads_a_file_refused_before(tmp_path):
    images = tmp_path / "images"
    write_collection(images, per_class=4)
    synthetic_photo(0, 77, (900, 700)).save(images / "big.png")  # ~1 MB
    out = tmp_path / "out"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    args = [sys.executable, "-m", "pixplot", "build", "--images", str(images), "--out_dir", str(out), "--layouts",
            "tsne", "--cluster-on", "embedding", "--min_cluster_size", "3", "--quiet"]
    r = subprocess.run([*args, "--max_file_size", "100K"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "skipped big.png: too large" in r.stdout
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)  # the default cap: 1G
    assert r.returncode == 0, r.stderr
    assert "13 items from 13 images" in r.stdout

"""Reading one input file: refused early, before it is read whole, when it cannot be an image."""

from __future__ import annotations

import os
import signal
import tracemalloc

import pytest

from pixplot.imageio import BadImage, parse_size
from pixplot.work import ingest_batch, read_input
from tests.conftest import synthetic_photo


def _sparse(path, size, head=b""):
    """A file of ``size`` bytes that takes no disk: ``head`` then a hole."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
    except BadImage as exc:
        reason = str(exc)
    else:
        reason = None
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return reason, peak


def test_a_large_non_image_is_refused_from_its_header_without_reading_it(tmp_path):
    path = _sparse(tmp_path / "video.mov", 512 << 20, b"\x00\x00\x00\x20ftypqt  not an image at all")
    reason, peak = _peak_bytes(lambda: read_input(str(path)))
    assert reason == "not an image (unknown format)"
    assert peak < 8 << 20  # a whole read would hold 512 MiB


def test_a_file_above_the_size_cap_is_refused_unread(tmp_path):
    png = tmp_path / "p.png"
    synthetic_photo(0, 1).save(png)
    big = _sparse(tmp_path / "big.png", 64 << 20, png.read_bytes())
    reason, peak = _peak_bytes(lambda: read_input(str(big), max_size=1 << 20))
    assert reason == f"too large ({64 << 20:,} bytes; the cap is {1 << 20:,}, change it with --max_file_size)"
    assert peak < 1 << 20
    assert read_input(str(png), max_size=1 << 20).data == png.read_bytes()  # under the cap: read whole
    rows = ingest_batch([(str(big), "big.png"), (str(png), "p.png")], None, 64, max_file_size=1 << 20)
    assert rows[0]["error"].startswith("too large") and rows[1]["error"] is None and rows[1]["width"] == 160


def test_a_pipe_is_refused_at_once_not_read_forever(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    old = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("reading a pipe blocked"))
    signal.alarm(10)
    try:
        rows = ingest_batch([(str(tmp_path / "pipe.jpg"), "pipe.jpg")], None, 64)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert rows[0]["error"] == "not a regular file (named pipe)"


def test_a_declared_bomb_is_refused_from_its_header(tmp_path):
    from PIL import Image

    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)  # 400 Mpx, a few KB on disk
    with pytest.raises(BadImage, match="decompression bomb"):
        read_input(str(path))


def test_sizes_read_like_people_write_them():
    assert parse_size("1G") == 1 << 30 and parse_size("200M") == 200 << 20 and parse_size("64kb") == 64 << 10
    assert parse_size("1.5GiB") == 3 << 29 and parse_size("1000") == 1000
    for bad in ("", "lots", "-1M", "0"):
        with pytest.raises(ValueError):
            parse_size(bad)

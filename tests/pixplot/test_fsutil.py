"""Atomic writes leave files a static web server running as another user can read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pixplot.fsutil import atomic_write_bytes, atomic_write_json, current_umask


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_atomic_writes_are_world_readable_under_the_default_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a" / "b.bin", b"x")
        atomic_write_json(tmp_path / "c.json", {"k": 1})
    finally:
        os.umask(old)
    assert mode(tmp_path / "a" / "b.bin") == 0o644
    assert mode(tmp_path / "c.json") == 0o644
    assert mode(tmp_path / "a") == 0o755


def test_atomic_writes_respect_a_stricter_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        atomic_write_bytes(tmp_path / "private.bin", b"x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "private.bin") == 0o640


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "t.bin"
    try:
        atomic_write_bytes(target, object())  # type: ignore[arg-type]
    except TypeError:
        pass
    assert list(tmp_path.iterdir()) == []

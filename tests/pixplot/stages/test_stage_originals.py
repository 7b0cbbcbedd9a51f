from __future__ import annotations

import os

from pixplot.stages import ingest, originals
from tests.pixplot.stages.conftest import make_plan


def _run(tmp_path, images, files, cache, executor, mode):
    plan = make_plan(tmp_path, images, originals=mode)
    good = ingest.run(plan, cache, executor, files).good
    items = [{"sha256": row["sha256"], "original": None} for _, row in good]
    originals.run(plan, good, items)
    return plan, items


def test_link_mode_links_each_source_relatively(tmp_path, images, files, cache, executor):
    plan, items = _run(tmp_path, images, files, cache, executor, "link")
    p = plan.data / items[0]["original"]
    assert p.is_symlink() and not os.path.isabs(os.readlink(p)) and p.read_bytes()[:2] == b"\xff\xd8"


def test_copy_mode_copies_and_none_keeps_nothing(tmp_path, images, files, cache, executor):
    plan, items = _run(tmp_path, images, files, cache, executor, "copy")
    assert all(not (plan.data / it["original"]).is_symlink() for it in items)
    plan, items = _run(tmp_path / "n", images, files, cache, executor, "none")
    assert all(it["original"] is None for it in items)

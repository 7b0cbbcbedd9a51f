from __future__ import annotations

import numpy as np

from pixplot.stages import embed
from tests.pixplot.stages.conftest import make_plan


def test_embeds_every_item_once_and_reuses_the_cache(tmp_path, photo_items, cache, executor):
    items, paths = photo_items
    plan = make_plan(tmp_path)
    got = embed.run(plan, cache, executor, items, paths)
    assert got.embedded == 6 and got.vectors.shape[0] == 6 and not got.lost
    assert np.allclose(np.linalg.norm(got.vectors, axis=1), 1, atol=1e-5)
    again = embed.run(plan, cache, executor, items, paths)
    assert again.embedded == 0 and np.array_equal(again.vectors, got.vectors)


def test_an_item_that_cannot_be_decoded_is_dropped_and_reported(tmp_path, photo_items, cache, executor):
    items, paths = photo_items
    (tmp_path / "p2.jpg").write_bytes(b"gone bad")
    got = embed.run(make_plan(tmp_path), cache, executor, items, paths)
    assert [it["source"] for it in got.items] == ["p0.jpg", "p1.jpg", "p3.jpg", "p4.jpg", "p5.jpg"]
    assert got.lost == [("p2.jpg", "could not be decoded for embedding")]


def test_process_pool_batches_are_split_to_keep_every_core_busy():
    class E:
        batch_size, in_process = 64, False

    assert embed.batch_size(E(), 40, 2) == 10
    E.in_process = True
    assert embed.batch_size(E(), 40, 2) == 64

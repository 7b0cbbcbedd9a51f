from __future__ import annotations

import numpy as np

from pixplot.bundle import BundleWriter
from pixplot.stages import layout
from tests.pixplot.stages.conftest import make_plan


def _items(n):
    return [{"id": f"{i:016x}", "source": f"{i}.jpg", "meta": {}} for i in range(n)]


def test_umap_and_grid_one_cell_per_item_and_the_embedding_layout_is_cached(tmp_path, blobs, cache, executor):
    E, _ = blobs
    plan = make_plan(tmp_path, layouts="umap,grid")
    got = layout.run(plan, cache, executor, _items(60), E)
    assert set(got.positions) == {"umap", "grid"} and got.positions["umap"].shape == (60, 2)
    assert len({tuple(p) for p in got.positions["grid"].round(4)}) == 60
    assert len(list((plan.cache_dir / "layouts").glob("*.npy"))) == 1  # umap only; grid is cheap
    again = layout.run(plan, cache, executor, _items(60), E)
    assert np.array_equal(again.positions["umap"], got.positions["umap"])


def test_umap_above_its_fit_sample_fits_a_sample_and_reports_it(tmp_path, blobs, cache, executor):
    E, _ = blobs
    plan = make_plan(tmp_path, layouts="umap", umap_fit_sample=30)
    got = layout.run(plan, cache, executor, _items(60), E)
    assert got.report["layout_fit"]["sample"] == 30 and "seeded sample of 30 of 60" in got.report["notes"][0]
    assert np.isfinite(got.positions["umap"]).all()


def test_a_third_party_projector_is_chosen_with_layouts_and_its_guides_reach_the_bundle(
        tmp_path, blobs, cache, executor, third_party_projector):
    E, _ = blobs
    plan = make_plan(tmp_path, layouts=f"{third_party_projector}", cluster_on="embedding",
                     plugin_options={"mirror_axis": 1})
    assert list(plan.projectors) == ["umap", "mirror"] and plan.layouts == ["mirror"]
    got = layout.run(plan, cache, executor, _items(60), E)
    assert np.array_equal(got.positions["mirror"][:, 1], -got.positions["umap"][:, 1])
    w = BundleWriter(plan.out)
    w.layout("mirror", got.positions["mirror"], got.guides.get("mirror"))
    assert w.layouts == [{"name": "mirror", "file": "layouts/mirror.f32", "guides": "layouts/mirror.guides.json"}]
    assert (plan.data / "layouts" / "mirror.guides.json").read_text() == '{"axes":{"x":"flipped"}}'

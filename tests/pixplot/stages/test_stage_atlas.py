from __future__ import annotations

from PIL import Image

from pixplot.stages import atlas
from tests.pixplot.stages.conftest import make_plan


def test_previews_are_packed_row_major_and_each_item_gets_its_cell_size(tmp_path, executor):
    plan = make_plan(tmp_path, cell_size=256)  # 8 x 8 cells per 2048 px sheet
    plan.thumbs.mkdir(parents=True)
    items = []
    for k in range(70):
        iid = f"{k:016x}"
        Image.new("RGB", (200, 100) if k == 0 else (64, 64), (k * 3, 0, 0)).save(plan.thumbs / f"{iid}.jpg")
        items.append({"id": iid})
    geo = atlas.run(plan, executor, items)
    assert (geo.cols, geo.per_atlas, geo.files) == (8, 64, ("atlases/0.jpg", "atlases/1.jpg"))
    assert all((plan.data / f).is_file() for f in geo.files)
    assert items[0]["cell"] == [256, 128] and items[69]["cell"] == [256, 256]

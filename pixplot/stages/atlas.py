"""Atlas: pack every item's preview into sprite sheets (the viewer's textures), one task per sheet,
and record each item's cell size in its record."""

from __future__ import annotations

from typing import Any

from pixplot.bundle import AtlasGeometry
from pixplot.plan import BuildPlan
from pixplot.progress import bar
from pixplot.work import atlas_batch


def _sheet(thumbs: list[str], out_path: str, cell_size: int, size: int, cols: int, k: int):
    return k, atlas_batch(thumbs, out_path, cell_size, size, cols)


def run(plan: BuildPlan, executor: Any, items: list[dict[str, Any]]) -> AtlasGeometry:
    geo = AtlasGeometry.for_items(len(items), plan.options.cell_size)
    ids = [it["id"] for it in items]
    per = geo.per_atlas
    tasks = [([str(plan.thumbs / f"{iid}.jpg") for iid in ids[k * per:(k + 1) * per]],
              str(plan.data / file), geo.cell_size, geo.size, geo.cols, k)
             for k, file in enumerate(geo.files)]
    b = bar(plan.options.progress, len(items), "Packing atlases", "item")
    for k, cells in executor.map_unordered(_sheet, tasks):
        for j, cell in enumerate(cells):
            items[k * per + j]["cell"] = cell
        b.update(len(cells))
    b.close()
    return geo

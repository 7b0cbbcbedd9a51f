"""Layouts from metadata: each places items where its metadata says, in [-1, 1], with guides."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pixplot.errors import UserError
from pixplot.metalayouts import (
    AlphabeticLayout,
    CategoricalLayout,
    CustomLayout,
    DateLayout,
    GeographicLayout,
    project_lnglat,
    year_of,
)
from pixplot.plugins import Layout, LayoutContext, create


def ctx(metas: list[dict], sources: list[str] | None = None) -> LayoutContext:
    sources = sources or [f"img_{i:03d}.jpg" for i in range(len(metas))]
    return LayoutContext(items=[{"id": f"{i:016x}", "source": s, "meta": m}
                                for i, (s, m) in enumerate(zip(sources, metas, strict=True))])


def run(proj, context: LayoutContext) -> Layout:
    out = proj.project(np.zeros((len(context.items), 0), np.float32), context=context)
    assert isinstance(out, Layout)
    P = out.positions
    assert P.shape == (len(context.items), 2) and P.dtype == np.float32 and np.isfinite(P).all()
    assert np.abs(P).max() <= 1.0 + 1e-5
    json.dumps(out.guides)  # the bundle writes guides as JSON
    return out


def labels(out: Layout) -> dict[str, tuple[float, float]]:
    return {lab["text"]: (lab["x"], lab["y"]) for lab in out.guides.get("labels", [])}


@pytest.mark.parametrize("value,year", [(1923, 1923), ("1923", 1923), ("1923-04-01", 1923), ("04/01/1923", 1923),
                                        ("c. 850", 850), ("", None), ("unknown", None), (None, None)])
def test_year_of_reads_plain_years_and_dates(value, year):
    assert year_of(value) == year


def test_date_layout_puts_years_in_labelled_columns_in_order_and_undated_apart():
    metas = [{"year": y} for y in [1990, 1950, 1990, 1970, 1950, 1990]] + [{}, {"year": "n.d."}]
    c = ctx(metas)
    out = run(DateLayout(), c)
    P = out.positions
    xs = {y: P[[i for i, m in enumerate(metas) if m.get("year") == y], 0] for y in (1950, 1970, 1990)}
    assert xs[1950].max() < xs[1970].min() and xs[1970].max() < xs[1990].min()
    undated = P[[6, 7], 0]
    assert undated.min() > xs[1990].max()
    lab = labels(out)
    assert set(lab) == {"1950", "1970", "1990", "undated"}
    assert lab["1950"][0] < lab["1970"][0] < lab["1990"][0] < lab["undated"][0]
    assert out.guides["axes"]["x"] == "year"
    assert any("undated" in n for n in c.report["notes"])


def test_categorical_layout_gives_each_value_a_block_largest_first():
    metas = [{"category": "cat"}] * 9 + [{"category": "dog"}] * 4 + [{"category": "bird"}] + [{}]
    out = run(CategoricalLayout(), ctx(metas))
    P = out.positions
    blocks = {"cat": range(0, 9), "dog": range(9, 13), "bird": range(13, 14), "(none)": range(14, 15)}
    boxes = {k: (P[list(v)].min(axis=0), P[list(v)].max(axis=0)) for k, v in blocks.items()}
    for a in blocks:  # blocks do not overlap
        for b in blocks:
            if a < b:
                (alo, ahi), (blo, bhi) = boxes[a], boxes[b]
                assert (ahi < blo).any() or (bhi < alo).any(), (a, b)
    lab = labels(out)
    assert set(lab) == {"cat (9)", "dog (4)", "bird (1)", "(none) (1)"}
    # Largest first: reading order (top to bottom, left to right) follows size.
    order = sorted(lab, key=lambda t: (-round(lab[t][1], 3), lab[t][0]))
    assert order == ["cat (9)", "dog (4)", "bird (1)", "(none) (1)"]


def test_alphabetic_layout_reads_file_names_row_by_row():
    sources = ["b/zeta.jpg", "a/Alpha.jpg", "c/beta.jpg", "d/alpha2.jpg"]
    out = run(AlphabeticLayout(), ctx([{}] * 4, sources))
    P = out.positions
    reading = sorted(range(4), key=lambda i: (-round(float(P[i, 1]), 4), float(P[i, 0])))
    assert [sources[i] for i in reading] == ["a/Alpha.jpg", "d/alpha2.jpg", "c/beta.jpg", "b/zeta.jpg"]
    assert {"A", "B", "Z"} <= set(labels(out))


def test_geographic_layout_places_points_by_longitude_and_latitude_with_a_graticule(tmp_path):
    metas = [{"lat": 48.85, "lng": 2.35}, {"lat": 40.71, "lng": -74.0}, {"lat": -33.87, "lng": 151.2},
             {"lat": 48.85, "lng": 2.35}, {"lat": "x"}]
    geo = tmp_path / "coast.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Polygon",
                                         "coordinates": [[[-10, 35], [30, 35], [30, 60], [-10, 60], [-10, 35]]]}}]}))
    for projection in ("equirectangular", "mercator"):
        c = ctx(metas)
        out = run(GeographicLayout(geojson=str(geo), map_projection=projection), c)
        P = out.positions
        assert P[1, 0] < P[0, 0] < P[2, 0]  # New York, Paris, Sydney from west to east
        assert P[2, 1] < P[1, 1] < P[0, 1]  # Sydney south of New York south of Paris
        assert 0 < np.linalg.norm(P[3] - P[0]) < 0.01  # the same place: spread, but close
        assert P[4, 1] < P[2, 1]  # no location: below the map
        assert len(out.guides["lines"]) >= 12 and len(out.guides["base"]) == 1
        assert "no location (1)" in labels(out) and "30°N" in labels(out)
        assert any("without lat/lng" in n for n in c.report["notes"])


def test_mercator_stretches_high_latitudes():
    _, y_eq = project_lnglat(np.array([0.0, 0.0]), np.array([30.0, 60.0]), "equirectangular")
    _, y_m = project_lnglat(np.array([0.0, 0.0]), np.array([30.0, 60.0]), "mercator")
    assert y_eq[1] / y_eq[0] == pytest.approx(2.0)
    assert y_m[1] / y_m[0] > 2.2


def test_a_bad_geojson_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="bad.geojson: not a GeoJSON file"):
        run(GeographicLayout(geojson=str(bad)), ctx([{"lat": 1, "lng": 2}]))
    with pytest.raises(UserError, match="missing.geojson: file not found"):
        run(GeographicLayout(geojson=str(tmp_path / "missing.geojson")), ctx([{"lat": 1, "lng": 2}]))


def test_custom_layout_keeps_given_coordinates_and_names_what_did_not_match(tmp_path):
    sources = ["a/one.jpg", "a/two.jpg", "b/three.jpg", "b/four.jpg"]
    f = tmp_path / "mds.csv"
    f.write_text("filename,x,y\none.jpg,0,0\na/two.jpg,10,0\nthree.jpg,0,5\nghost.jpg,3,3\n")
    c = ctx([{}] * 4, sources)
    out = run(CustomLayout(file=str(f), title="mds"), c)
    P = out.positions
    assert P[1, 0] - P[0, 0] == pytest.approx(2 * (P[2, 1] - P[0, 1]), rel=1e-4)  # proportions kept
    assert P[0, 1] == pytest.approx(P[1, 1])
    assert P[3, 1] < P[0, 1]  # rowless image apart, below
    note = " ".join(c.report["notes"])
    assert "1 rows of" in note and "ghost.jpg" in note and "1 images have no row" in note and "b/four.jpg" in note


def test_custom_layout_bad_files_are_one_clear_error(tmp_path):
    c = ctx([{}], ["one.jpg"])
    f = tmp_path / "l.csv"
    f.write_text("name,x,y\none.jpg,1,2\n")
    with pytest.raises(UserError, match="l.csv: needs the columns filename, x, y"):
        run(CustomLayout(file=str(f)), c)
    f.write_text("filename,x,y\none.jpg,left,2\n")
    with pytest.raises(UserError, match="l.csv: line 2: x and y must be numbers"):
        run(CustomLayout(file=str(f)), c)
    f.write_text("filename,x,y\nother.jpg,1,2\n")
    with pytest.raises(UserError, match="no row names an image"):
        run(CustomLayout(file=str(f)), c)
    with pytest.raises(UserError, match="--layout-file"):
        run(CustomLayout(), c)


def test_every_metadata_layout_is_a_registered_projector_without_embeddings():
    for name in ("date", "categorical", "geographic", "custom", "alphabetic"):
        proj = create("projector", name)
        assert proj.name == name and proj.uses_embeddings is False

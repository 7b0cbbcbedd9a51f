"""Layouts made from metadata rather than pixels: PixPlot's date and alphabetic layouts, one block
per category, a map from ``lat``/``lng``, and coordinates computed elsewhere.

Each is a projector (``uses_embeddings = False``) chosen with ``--layouts`` like UMAP. Each returns a
:class:`~pixplot.plugins.Layout` with guides the viewer draws: ``axes`` (axis titles), ``labels``
(text at layout positions) and ``lines`` (polylines: a graticule), plus ``base`` (polylines of a
GeoJSON base layer) for the map. Layouts are built in cell units and scaled, guides and positions
alike, so that the longer axis spans [-1, 1] (docs/bundle.md); y grows upwards.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pixplot.byname import match_names
from pixplot.errors import UserError
from pixplot.plugins import Layout, LayoutContext, Projector

#: Gap between blocks, in cells.
GAP = 2.0
#: Most text labels one layout carries (more would be unreadable at any zoom).
MAX_LABELS = 400
#: Most points a GeoJSON base layer keeps in total, after dropping near-duplicates.
MAX_BASE_POINTS = 200_000


class _Sheet:
    """Positions and guides in cell units, scaled together at the end."""

    def __init__(self, n: int) -> None:
        self.P = np.zeros((n, 2), np.float64)
        self.labels: list[dict[str, Any]] = []
        self.lines: list[list[list[float]]] = []
        self.base: list[list[list[float]]] = []
        self.axes: dict[str, str] = {}

    def block(self, idx: list[int] | np.ndarray, x0: float, y_top: float, cols: int,
              step: float = 1.0) -> tuple[float, float]:
        """Place ``idx`` row by row, ``cols`` wide, ``step`` apart, from (x0, y_top) downwards;
        returns (width, height)."""
        idx = np.asarray(idx, dtype=np.int64)
        cols = max(1, int(cols))
        k = np.arange(len(idx))
        self.P[idx, 0] = x0 + ((k % cols) + 0.5) * step
        self.P[idx, 1] = y_top - ((k // cols) + 0.5) * step
        return float(min(cols, len(idx))) * step, float(math.ceil(len(idx) / cols)) * step

    def label(self, text: str, x: float, y: float, anchor: str = "middle", size: str = "normal") -> None:
        self.labels.append({"text": str(text), "x": x, "y": y, "anchor": anchor, "size": size})

    def finish(self, extra_points: np.ndarray | None = None) -> Layout:
        """Scale so the longer axis of positions and guides spans [-1, 1], centred on 0."""
        pts = [self.P]
        pts += [np.asarray(line, np.float64) for line in self.lines + self.base if line]
        if self.labels:
            pts.append(np.array([[lab["x"], lab["y"]] for lab in self.labels], np.float64))
        if extra_points is not None:
            pts.append(extra_points)
        allp = np.concatenate([p.reshape(-1, 2) for p in pts if len(p)])
        lo, hi = allp.min(axis=0), allp.max(axis=0)
        span = float((hi - lo).max())
        c = (lo + hi) / 2
        s = 2.0 / span if span > 0 else 1.0

        def tx(p: Any) -> list[float]:
            return [round(float((p[0] - c[0]) * s), 5), round(float((p[1] - c[1]) * s), 5)]

        guides: dict[str, Any] = {}
        if self.axes:
            guides["axes"] = self.axes
        if self.labels:
            guides["labels"] = [{**lab, "x": tx((lab["x"], lab["y"]))[0], "y": tx((lab["x"], lab["y"]))[1]}
                                for lab in self.labels[:MAX_LABELS]]
        if self.lines:
            guides["lines"] = [[tx(p) for p in line] for line in self.lines]
        if self.base:
            guides["base"] = [[tx(p) for p in line] for line in self.base]
        return Layout(positions=((self.P - c) * s).astype(np.float32), guides=guides or None)


def _items(context: LayoutContext | None, name: str) -> list[dict[str, Any]]:
    if context is None or not context.items:
        raise UserError(f"--layouts {name}: this layout is made from the items' metadata; the build passes it")
    return context.items


def _square_cols(n: int, aspect: float = 1.0) -> int:
    return max(1, math.ceil(math.sqrt(max(1, n) * aspect)))


def _every(n: int, most: int) -> int:
    """Label every k-th of n so that at most ``most`` labels are drawn."""
    return max(1, math.ceil(n / most))


# ---------------------------------------------------------------------------- date

_YEAR = re.compile(r"(?<!\d)(-?\d{1,4})(?!\d)")


def year_of(value: Any) -> int | None:
    """A year from ``1923``, ``"1923"``, ``"1923-04-01"``, ``"04/01/1923"`` or ``"c. 1923"``; else None.

    The first number of three or four digits wins (PixPlot read a plain year column)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if math.isfinite(value) else None
    for m in _YEAR.finditer(str(value)):
        digits = m.group(1).lstrip("-")
        if len(digits) >= 3:
            return int(m.group(1))
    return None


class DateLayout(Projector):
    """PixPlot's date layout: one column of items per year, years in order left to right, each
    labelled underneath; items without a year stand apart on the right, labelled "undated"."""

    name = "date"
    version = "1"
    uses_embeddings = False
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "date_column": {"metavar": "COLUMN", "help": "date layout: metadata column holding the year or date "
                        "(default: year, else date)"},
    }

    def __init__(self, date_column: str | None = None) -> None:
        self.date_column = date_column

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> Layout:
        items = _items(context, self.name)
        cols = [self.date_column.lower()] if self.date_column else ["year", "date"]
        years = [next((y for c in cols if (y := year_of((it.get("meta") or {}).get(c))) is not None), None)
                 for it in items]
        by_year: dict[int, list[int]] = {}
        undated: list[int] = []
        for i, y in enumerate(years):
            (undated if y is None else by_year.setdefault(y, [])).append(i)
        if not by_year and context is not None:
            context.note(f"date layout: no item has a year in column {' or '.join(cols)}; all are undated")
        sheet = _Sheet(len(items))
        ys = sorted(by_year)
        tallest = max([len(v) for v in by_year.values()] + [len(undated), 1])
        # Columns as wide as needed to make the whole roughly square.
        width = _square_cols(tallest, 1.0 / max(1, len(ys) + (1 if undated else 0)))
        x = 0.0
        every = _every(len(ys), 60)
        for k, y in enumerate(ys):
            w, _ = sheet.block(by_year[y], x, 0.0, width)
            if k % every == 0 or k == len(ys) - 1:
                sheet.label(str(y), x + width / 2, 1.0)
            x += width + 0.5
        if undated:
            x += GAP
            sheet.block(undated, x, 0.0, width)
            sheet.label("undated", x + width / 2, 1.0)
        sheet.axes = {"x": self.date_column or "year"}
        if context is not None and undated and by_year:
            context.note(f"date layout: {len(undated)} items without a year are shown apart, labelled undated")
        return sheet.finish()


# ---------------------------------------------------------------------------- categorical


class CategoricalLayout(Projector):
    """One compact block per category value, largest first, each labelled with its value and size;
    items without a value form the last block, "(none)". A list value (``tags``) counts its first."""

    name = "categorical"
    version = "1"
    uses_embeddings = False
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "category_column": {"metavar": "COLUMN",
                            "help": "categorical layout: metadata column to group by (default: category)"},
    }

    def __init__(self, category_column: str = "category") -> None:
        self.category_column = category_column

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> Layout:
        items = _items(context, self.name)
        col = self.category_column.lower()
        groups: dict[str, list[int]] = {}
        missing: list[int] = []
        for i, it in enumerate(items):
            v = (it.get("meta") or {}).get(col)
            if isinstance(v, list):
                v = v[0] if v else None
            if v is None or str(v).strip() == "":
                missing.append(i)
            else:
                groups.setdefault(str(v), []).append(i)
        order = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        if missing:
            order.append(("(none)", missing))
        if len(order) == 1 and missing and context is not None:
            context.note(f"categorical layout: no item has a value in column {col!r}")
        sheet = _Sheet(len(items))
        # Shelf packing: blocks left to right in rows about as wide as the whole is tall.
        total = sum(math.ceil(len(m) / _square_cols(len(m))) * (_square_cols(len(m)) + GAP) for _, m in order)
        row_width = max(_square_cols(len(order[0][1])), math.sqrt(total * (1 + GAP)))
        x = y = 0.0
        row_h = 0.0
        for k, (value, members) in enumerate(order):
            cols = _square_cols(len(members))
            if x > 0 and x + cols > row_width:
                x, y = 0.0, y - row_h - GAP - 1.0
                row_h = 0.0
            w, hgt = sheet.block(members, x, y, cols)
            if k < MAX_LABELS:
                sheet.label(f"{value} ({len(members)})", x, y + 0.7, anchor="start")
            x += w + GAP
            row_h = max(row_h, hgt)
        sheet.axes = {"x": col}
        return sheet.finish()


# ---------------------------------------------------------------------------- alphabetic


class AlphabeticLayout(Projector):
    """PixPlot's alphabetic layout: items in a square grid, row by row, by file name (case-folded),
    with the first letter of each run labelled at the left of the row where it starts."""

    name = "alphabetic"
    version = "1"
    uses_embeddings = False

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> Layout:
        items = _items(context, self.name)
        names = [str(it.get("source", "")).rsplit("/", 1)[-1] for it in items]
        order = sorted(range(len(items)), key=lambda i: (names[i].casefold(), names[i], i))
        sheet = _Sheet(len(items))
        cols = _square_cols(len(items))
        sheet.block(order, 0.0, 0.0, cols)
        last = None
        for k, i in enumerate(order):
            first = (names[i][:1] or "?").upper()
            if first != last:
                sheet.label(first, -0.8, -(k // cols) - 0.5, anchor="end")
                last = first
        sheet.axes = {"x": "file name"}
        return sheet.finish()


# ---------------------------------------------------------------------------- geographic

MERCATOR_LAT = 85.0511


def project_lnglat(lng: np.ndarray, lat: np.ndarray, projection: str) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude in degrees to plane units: x = lng/180; y = lat/180 (equirectangular) or
    Web-Mercator's y scaled to the same units (±1 at ±85.05°)."""
    x = np.asarray(lng, np.float64) / 180.0
    lat = np.asarray(lat, np.float64)
    if projection == "mercator":
        phi = np.radians(np.clip(lat, -MERCATOR_LAT, MERCATOR_LAT))
        y = np.log(np.tan(np.pi / 4 + phi / 2)) / np.pi
    else:
        y = lat / 180.0
    return x, y


def _coord(meta: dict[str, Any], keys: tuple[str, ...], limit: float) -> float | None:
    for k in keys:
        v = meta.get(k)
        if v is None or v == "":
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        return f if math.isfinite(f) and -limit <= f <= limit else None
    return None


def read_geojson(path: str) -> list[np.ndarray]:
    """Every line and polygon ring of a GeoJSON file as (k, 2) arrays of (lng, lat)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--geojson {path}: file not found")
    try:
        doc = json.loads(p.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"--geojson {path}: not a GeoJSON file ({exc})") from exc
    out: list[np.ndarray] = []

    def geom(g: Any) -> None:
        if not isinstance(g, dict):
            return
        t, c = g.get("type"), g.get("coordinates")
        try:
            if t == "LineString":
                out.append(np.asarray(c, np.float64)[:, :2])
            elif t in ("MultiLineString", "Polygon"):
                out.extend(np.asarray(r, np.float64)[:, :2] for r in c)
            elif t == "MultiPolygon":
                out.extend(np.asarray(r, np.float64)[:, :2] for poly in c for r in poly)
            elif t == "GeometryCollection":
                for sub in g.get("geometries") or []:
                    geom(sub)
        except (TypeError, ValueError, IndexError) as exc:
            raise UserError(f"--geojson {path}: a {t} has malformed coordinates ({exc})") from exc

    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "FeatureCollection":
        for f in doc.get("features") or []:
            geom((f or {}).get("geometry"))
    elif kind == "Feature":
        geom(doc.get("geometry"))
    elif kind:
        geom(doc)
    else:
        raise UserError(f"--geojson {path}: not a GeoJSON object (no 'type')")
    if not out:
        raise UserError(f"--geojson {path}: holds no lines or polygons to draw")
    return [r for r in out if len(r) >= 2]


def _thin(line: np.ndarray, eps: float) -> np.ndarray:
    """Drop points closer than ``eps`` to the last kept one (keeps the last point)."""
    keep = [0]
    for k in range(1, len(line)):
        if np.abs(line[k] - line[keep[-1]]).max() >= eps:
            keep.append(k)
    if keep[-1] != len(line) - 1:
        keep.append(len(line) - 1)
    return line[keep]


class GeographicLayout(Projector):
    """Items at their ``lat``/``lng`` on a plain plane, equirectangular or Web-Mercator, with a
    graticule every 30 degrees and optionally a GeoJSON base layer; no tiles, nothing online.
    Items at the same place spread in a small spiral so each stays visible; items without a
    location stand apart below the map, labelled "no location"."""

    name = "geographic"
    version = "1"
    uses_embeddings = False
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "geojson": {"metavar": "FILE", "help": "geographic layout: a GeoJSON file drawn as the base layer"},
        "map_projection": {"choices": ["equirectangular", "mercator"],
                           "help": "geographic layout: map projection (default: equirectangular)"},
    }

    def __init__(self, geojson: str | None = None, map_projection: str = "equirectangular") -> None:
        self.geojson = geojson
        self.map_projection = map_projection

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> Layout:
        if self.map_projection not in ("equirectangular", "mercator"):
            raise UserError(f"--map_projection {self.map_projection}: choose equirectangular or mercator")
        base = read_geojson(self.geojson) if self.geojson else []
        items = _items(context, self.name)
        lat = [_coord(it.get("meta") or {}, ("lat", "latitude"), 90) for it in items]
        lng = [_coord(it.get("meta") or {}, ("lng", "lon", "long", "longitude"), 180) for it in items]
        have = [i for i in range(len(items)) if lat[i] is not None and lng[i] is not None]
        missing = [i for i in range(len(items)) if i not in set(have)]
        sheet = _Sheet(len(items))
        # Plane units: the whole world is 2 wide; positions in cell units scale with it below.
        U = 100.0  # cell units per plane unit, so the world is 200 cells wide
        if have:
            x, y = project_lnglat(np.array([lng[i] for i in have]), np.array([lat[i] for i in have]),
                                  self.map_projection)
            pts = np.stack([x, y], axis=1) * U
            # Spread items at the same place in a spiral, a fraction of a cell apart.
            seen: Counter[tuple[float, float]] = Counter()
            for k in range(len(pts)):
                key = (round(pts[k, 0], 6), round(pts[k, 1], 6))
                j = seen[key]
                seen[key] += 1
                if j:
                    r, t = 0.05 * math.sqrt(j), j * 2.399963
                    pts[k] += (r * math.cos(t), r * math.sin(t))
            sheet.P[have] = pts
        ymax = 1.0 if self.map_projection == "mercator" else 0.5
        lat_lim = 80 if self.map_projection == "mercator" else 90
        for lo in range(-180, 181, 30):  # meridians
            lats = np.linspace(-lat_lim, lat_lim, 33)
            gx, gy = project_lnglat(np.full_like(lats, lo), lats, self.map_projection)
            sheet.lines.append((np.stack([gx, gy], 1) * U).tolist())
            if lo % 60 == 0:
                sheet.label(f"{abs(lo)}°{'E' if lo > 0 else 'W' if lo < 0 else ''}", lo / 180 * U,
                            -ymax * U - 4, size="small")
        for la in range(-60 if self.map_projection == "mercator" else -90, lat_lim + 1, 30):  # parallels
            lngs = np.linspace(-180, 180, 49)
            gx, gy = project_lnglat(lngs, np.full_like(lngs, la), self.map_projection)
            sheet.lines.append((np.stack([gx, gy], 1) * U).tolist())
            if abs(la) < 90:
                sheet.label(f"{abs(la)}°{'N' if la > 0 else 'S' if la < 0 else ''}", -U - 2, float(gy[0]) * U,
                            anchor="end", size="small")
        if base:
            total = sum(len(r) for r in base)
            eps = 0.0 if total <= MAX_BASE_POINTS else 360.0 / math.sqrt(MAX_BASE_POINTS) / 4
            for ring in base:
                ring = _thin(ring, eps) if eps else ring
                bx, by = project_lnglat(ring[:, 0], ring[:, 1], self.map_projection)
                sheet.base.append((np.stack([bx, by], 1) * U).tolist())
        if missing:
            # A strip below the map, items a 24th of the world's width apart.
            step = 2 * U / 24
            cols = min(24, _square_cols(len(missing), 4.0))
            top = -ymax * U - 14
            sheet.block(missing, -U, top, cols, step)
            sheet.label(f"no location ({len(missing)})", -U, top + 4, anchor="start")
            if context is not None:
                context.note(f"geographic layout: {len(missing)} items without lat/lng are shown apart below the map")
        sheet.axes = {"x": "longitude", "y": "latitude"}
        return sheet.finish()


# ---------------------------------------------------------------------------- custom


def read_layout_csv(path: str, rels: list[str]) -> tuple[np.ndarray, np.ndarray, Any]:
    """(positions (n, 2), has-row mask, name match) from a ``filename,x,y`` CSV."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--layout-file {path}: file not found")
    try:
        text = p.read_text("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"--layout-file {path}: not UTF-8 text ({exc.reason})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    heads = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    if not {"filename", "x", "y"} <= set(heads):
        raise UserError(f"--layout-file {path}: needs the columns filename, x, y (has: {', '.join(heads) or 'none'})")
    names, xy = [], []
    for line, row in enumerate(reader, start=2):
        try:
            x, y = float(row[heads["x"]]), float(row[heads["y"]])
        except (TypeError, ValueError):
            raise UserError(f"--layout-file {path}: line {line}: x and y must be numbers "
                            f"(got {row[heads['x']]!r}, {row[heads['y']]!r})") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise UserError(f"--layout-file {path}: line {line}: x and y must be finite numbers")
        names.append(row[heads["filename"]] or "")
        xy.append((x, y))
    m = match_names(names, rels)
    index = {rel: k for k, rel in enumerate(rels)}
    P = np.zeros((len(rels), 2), np.float64)
    has = np.zeros(len(rels), bool)
    for k, rel in enumerate(m.rows):
        if rel is not None:
            P[index[rel]] = xy[k]
            has[index[rel]] = True
    return P, has, m


class CustomLayout(Projector):
    """Coordinates computed elsewhere: ``--layout-file NAME=FILE.csv`` with columns ``filename,x,y``
    (file names matched like the metadata CSV's). Items of images without a row stand apart
    below, labelled; rows naming no image are counted and named in the build summary."""

    name = "custom"
    version = "1"
    uses_embeddings = False

    def __init__(self, file: str | None = None, title: str | None = None) -> None:
        self.file = file
        self.title = title

    def project(self, X: np.ndarray, *, context: LayoutContext | None = None) -> Layout:
        if not self.file:
            raise UserError("--layouts custom: give its coordinates with --layout-file NAME=FILE.csv")
        items = _items(context, self.name)
        sources = [str(it.get("source", "")) for it in items]
        rels = list(dict.fromkeys(sources))
        P_img, has_img, m = read_layout_csv(self.file, rels)
        if not has_img.any():
            raise UserError(f"--layout-file {self.file}: no row names an image of this collection "
                            f"(first rows: {', '.join(m.unmatched_rows[:3])})")
        row_of = {rel: k for k, rel in enumerate(rels)}
        P = np.array([P_img[row_of[s]] for s in sources], np.float64)
        has = np.array([has_img[row_of[s]] for s in sources], bool)
        if context is not None and (m.unmatched_rows or m.rowless):
            context.note(f"layout {self.title or self.name}: " + m.summary(self.file))
        # Scale the given coordinates into cell units comparable to an item grid.
        pts = P[has]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = float((hi - lo).max()) or 1.0
        cells = max(4.0, math.sqrt(len(items)) * 2)
        sheet = _Sheet(len(items))
        sheet.P[has] = (pts - lo) / span * cells
        missing = np.flatnonzero(~has).tolist()
        if missing:
            top = -GAP * 2
            sheet.block(missing, 0.0, top, _square_cols(len(missing), 4.0))
            sheet.label(f"not in {Path(self.file).name} ({len(missing)})", 0.0, top + 1.2, anchor="start")
        if self.title:
            sheet.axes = {"x": self.title}
        return sheet.finish()

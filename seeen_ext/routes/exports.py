"""``GET /api/export``: the current annotations as CSV, JSON or a recognition gallery."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request

from seeen_ext import export as exports
from seeen_ext.gallery import Gallery
from seeen_ext.routes.context import ctx

bp = Blueprint("pixplot_exports", __name__)


@bp.get("/api/export")
def export() -> Any:
    fmt = request.args.get("format", "json")
    c = ctx()
    st = c.store.state()
    if fmt == "csv":
        data, mime, name = exports.to_csv(c.bundle, st), "text/csv; charset=utf-8", "annotations.csv"
    elif fmt == "json":
        data, mime, name = exports.to_json(c.bundle, st, c.store.events()), "application/json", "annotations.json"
    elif fmt == "gallery":
        g = Gallery.from_state(c.bundle, st["labels"], st["excluded"])
        data, mime, name = g.to_npz(), "application/octet-stream", "gallery.npz"
    else:
        abort(400, description=f"unknown format {fmt!r}; use csv, json or gallery")
    return Response(data, content_type=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})

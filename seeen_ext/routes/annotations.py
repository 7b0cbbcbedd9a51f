"""The annotation routes: state, the event log, undo and redo (docs/api.md, "Annotations")."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, jsonify, request

from seeen_ext.routes.context import ctx, json_body

bp = Blueprint("pixplot_annotations", __name__)

#: Versions and limits are SQLite integers: at most 2**63 - 1.
_MAX_INT = 2**63 - 1


def _whole(name: str, raw: str) -> int:
    """A query parameter of ASCII digits (``٣`` and ``²`` are digits to Python, not to us) that
    fits a SQLite integer; 400 otherwise."""
    if not re.fullmatch(r"[0-9]+", raw):
        abort(400, description=f"{name!r} must be a whole number written with the digits 0-9")
    value = int(raw)
    if value > _MAX_INT:
        abort(400, description=f"{name!r} is too large (at most {_MAX_INT})")
    return value


@bp.get("/api/state")
def state() -> Any:
    return jsonify(ctx().store.state())


@bp.get("/api/events")
def list_events() -> Any:
    since = _whole("since", request.args.get("since", "0"))
    limit = request.args.get("limit")
    return jsonify(ctx().store.log(since, _whole("limit", limit) if limit is not None else None))


@bp.post("/api/events")
def post_events() -> Any:
    body = json_body()
    if "events" not in body:
        abort(400, description="the body must be {\"events\": [...]}")
    res = ctx().store.append(body["events"])
    return jsonify({"accepted": res.accepted, "version": res.version, "duplicates": res.duplicates})


def _undo_redo(kind: str) -> Any:
    body = json_body() if request.content_length else {}
    author = body.get("author") or ""
    store = ctx().store
    fn = store.undo if kind == "undo" else store.redo
    return jsonify(fn(author, body.get("id")))


@bp.post("/api/undo")
def undo() -> Any:
    return _undo_redo("undo")


@bp.post("/api/redo")
def redo() -> Any:
    return _undo_redo("redo")

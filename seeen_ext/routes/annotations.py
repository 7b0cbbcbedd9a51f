"""The annotation routes: state, the event log, undo and redo (docs/api.md, "Annotations")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request

from seeen_ext.routes.context import ctx, json_body

bp = Blueprint("pixplot_annotations", __name__)


@bp.get("/api/state")
def state() -> Any:
    return jsonify(ctx().store.state())


@bp.get("/api/events")
def list_events() -> Any:
    since = request.args.get("since", "0")
    limit = request.args.get("limit")
    if not since.isdigit() or (limit is not None and not limit.isdigit()):
        abort(400, description="'since' and 'limit' must be whole numbers")
    return jsonify(ctx().store.log(int(since), int(limit) if limit else None))


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

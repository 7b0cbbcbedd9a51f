"""Find and repair routes: ``/api/neighbors``, ``/api/search/text``, ``/api/split``,
``/api/similar-clusters`` and ``/api/suggestions`` (docs/api.md).

One of the server's built-in route groups (:mod:`seeen_ext.routes`). Thin views over
:mod:`seeen_ext.find`. Each answers a question and stores nothing: the viewer
turns an answer into events (``label``, ``exclude``, ``split``, ``merge``) sent to
``POST /api/events``, so every change stays one undoable event in the log.

What is slow to build is built once and kept: the nearest-neighbour index over the bundle's
embeddings (started in the background when the server starts: at a million items it takes about
a minute), the text embedder, and, per store version, the groups' centroids and the suggestion
recogniser (gallery index plus calibrated threshold).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from flask import Blueprint, Flask, abort, jsonify

from pixplot.errors import UserError
from pixplot.knn import SEARCH_EXACT_LIMIT, VectorIndex
from seeen_ext import find
from seeen_ext.routes.context import ctx as _ctx
from seeen_ext.routes.context import json_body as _body

bp = Blueprint("pixplot_find", __name__)

MAX_K = 500
MAX_ITEMS = 100_000


class FindCache:
    """What the routes reuse between requests (one per server)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: VectorIndex | None = None
        self.index_ready = threading.Event()
        self.index_error: Exception | None = None
        self.embedder: Any = None
        self.groups_key: Any = None
        self.groups_version = -1
        self.groups: dict[str, np.ndarray] = {}
        self.centroids: tuple[Any, tuple[list[Any], np.ndarray]] | None = None  # (groups, their centroids)
        self.rec_key: Any = None
        self.rec: Any = None
        self.started = False


def _cache(ctx: Any) -> FindCache:
    return ctx.extras.setdefault("find", FindCache())  # type: ignore[no-any-return]


def _embeddings(bundle: Any) -> np.ndarray:
    return np.asarray(bundle.embeddings, dtype=np.float32)


def _build_index(ctx: Any) -> None:
    cache = _cache(ctx)
    try:
        cache.index = VectorIndex(_embeddings(ctx.bundle), exact_limit=SEARCH_EXACT_LIMIT)
    except Exception as exc:  # reported to every request that needs it, never a dead thread
        cache.index_error = exc
    finally:
        cache.index_ready.set()


def index(ctx: Any) -> VectorIndex:
    cache = _cache(ctx)
    with cache.lock:
        if not cache.started:
            cache.started = True
            threading.Thread(target=_build_index, args=(ctx,), name="find-index", daemon=True).start()
    cache.index_ready.wait()
    if cache.index_error is not None:
        raise UserError(f"the nearest-neighbour index could not be built ({cache.index_error})")
    assert cache.index is not None
    return cache.index


def _k(body: dict[str, Any], default: int) -> int:
    k = body.get("k", default)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        abort(400, description=f"'k' must be a whole number from 1 to {MAX_K}")
    return k


def _rows(ctx: Any, ids: Any, field: str = "items") -> list[int]:
    if not isinstance(ids, list) or not ids:
        abort(400, description=f"'{field}' must be a non-empty list of item ids")
    if len(ids) > MAX_ITEMS:
        abort(400, description=f"at most {MAX_ITEMS} items per request")
    index_of = ctx.bundle.index
    rows = []
    for iid in ids:
        if not isinstance(iid, str) or iid not in index_of:
            abort(400, description=f"unknown item id {iid!r}")
        rows.append(index_of[iid])
    return list(dict.fromkeys(rows))


def groups(ctx: Any) -> dict[str, np.ndarray]:
    """Rows of each cluster of the default clustering, as splits and merges left them."""
    cache = _cache(ctx)
    version = ctx.store.version()  # cheap; the whole state is read only when it moved
    with cache.lock:
        if cache.groups_version == version:
            return cache.groups
    state = ctx.store.state()
    key = tuple(sorted(state.get("groups", {}).items()))
    with cache.lock:
        cache.groups_version = version
        if cache.groups_key != key:
            cl = ctx.bundle.cluster_labels() if ctx.bundle.clusterings else \
                np.full(len(ctx.bundle.ids), -1, np.int32)
            cache.groups = find.effective_groups(cl, ctx.bundle.ids, state.get("groups", {}))
            cache.groups_key = key
        return cache.groups


def _target(ctx: Any, body: dict[str, Any]) -> tuple[list[int], str | None]:
    """The rows a request is about: ``items`` (a selection) or ``cluster`` (a group key)."""
    if body.get("cluster") is not None:
        key = str(body["cluster"])
        rows = groups(ctx).get(key)
        if rows is None:
            abort(400, description=f"no cluster {key!r}")
        return rows.tolist(), key
    if "items" not in body:
        abort(400, description="give 'items' (item ids) or 'cluster'")
    return _rows(ctx, body["items"]), None


def _hits(ctx: Any, hits: list[find.Neighbour]) -> list[dict[str, Any]]:
    ids = ctx.bundle.ids
    return [{"id": ids[h.row], "score": round(h.score, 4)} for h in hits]


@bp.post("/api/neighbors")
def neighbors() -> Any:
    ctx = _ctx()
    body = _body()
    k = _k(body, 20)
    rows, key = _target(ctx, body)
    idx = index(ctx)
    t0 = time.perf_counter()
    hits = find.neighbours_of(idx, _embeddings(ctx.bundle), rows, k)
    ms = (time.perf_counter() - t0) * 1000
    return jsonify({"neighbors": _hits(ctx, hits), "query": {"items": len(rows), "cluster": key},
                    "index": idx.kind, "ms": round(ms, 2)})


@bp.post("/api/search/text")
def search_text() -> Any:
    ctx = _ctx()
    body = _body()
    text = body.get("text")
    if not isinstance(text, str) or len(text) > 1000:
        abort(400, description="'text' must be a string of at most 1000 characters")
    k = _k(body, 50)
    emb = text_embedder(ctx)
    name = ctx.bundle.embedder.name if ctx.bundle.embedder else ""
    hits = find.text_neighbours(emb, index(ctx), text, k, embedder_name=name)
    return jsonify({"results": _hits(ctx, hits), "text": text})


def text_embedder(ctx: Any) -> Any:
    """The bundle's own embedder (re-created from its id), which must embed text too."""
    from seeen_ext.recognize import plugin_from_id

    cache = _cache(ctx)
    with cache.lock:
        if cache.embedder is None:
            name = ctx.bundle.embedder.name if ctx.bundle.embedder else ""
            try:
                emb = plugin_from_id("embedder", ctx.bundle.embedder_id, f"{ctx.bundle.root}")
            except UserError as exc:
                raise UserError(f"text search needs the bundle's embedder {name!r} installed here ({exc})") from exc
            if not callable(getattr(emb, "embed_text", None)):
                raise UserError(f"text search needs a CLIP-family embedder; this bundle was built with {name!r} "
                                "(rebuild with a CLIP embedder to search by words)")
            cache.embedder = emb
        return cache.embedder


@bp.post("/api/split")
def split() -> Any:
    ctx = _ctx()
    body = _body()
    rows, key = _target(ctx, body)
    k = body.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int)):
        abort(400, description="'k' must be a whole number (the number of sub-groups) or absent")
    t0 = time.perf_counter()
    parts = find.split(_embeddings(ctx.bundle), rows, k=k)
    ids = ctx.bundle.ids
    return jsonify({"of": key, "groups": [{"items": [ids[r] for r in g.rows], "cohesion": round(g.cohesion, 4)}
                                          for g in parts], "ms": round((time.perf_counter() - t0) * 1000, 1)})


@bp.post("/api/similar-clusters")
def similar_clusters() -> Any:
    ctx = _ctx()
    body = _body()
    k = _k(body, 10)
    rows, key = _target(ctx, body)
    g = groups(ctx)
    cache = _cache(ctx)
    with cache.lock:
        if cache.centroids is None or cache.centroids[0] is not g:
            cache.centroids = (g, find.centroids(_embeddings(ctx.bundle), g))
        cents = cache.centroids[1]
    found = find.similar_groups(_embeddings(ctx.bundle), g, key, k, query_rows=None if key else rows, cents=cents)
    state = ctx.store.state()
    labels, ids = state["labels"], ctx.bundle.ids
    out = []
    for s in found:
        members = [ids[r] for r in g[s.key]]
        named = [labels[i] for i in members if i in labels]
        top = max(set(named), key=named.count) if named else None
        out.append({"cluster": s.key, "score": round(s.score, 4), "size": s.size, "label": top,
                    "unlabelled": len(members) - len(named), "items": members})
    return jsonify({"of": key, "clusters": out})


@bp.post("/api/suggestions")
def suggestions() -> Any:
    ctx = _ctx()
    body = _body()
    threshold: Any = body.get("threshold", "auto")
    if threshold != "auto" and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                or not -1 <= threshold <= 1):
        abort(400, description="'threshold' must be 'auto' or a number between -1 and 1")
    k = _k(body, 5)
    limit = body.get("limit", 5000)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        abort(400, description="'limit' must be a positive whole number")
    candidates = _rows(ctx, body["items"]) if body.get("items") is not None else None
    state = ctx.store.state()
    cache = _cache(ctx)
    key = (state["version"], str(threshold), k)
    with cache.lock:
        if cache.rec_key != key:
            same_options = cache.rec_key is not None and cache.rec_key[1:] == key[1:]
            cache.rec = find.suggester(ctx.bundle, state["labels"], state["excluded"], threshold, k,
                                       previous=cache.rec if same_options else None)
            cache.rec_key = key
        rec = cache.rec
    got = find.suggest(ctx.bundle, state["labels"], state["excluded"], candidates=candidates, rec=rec)
    ids = ctx.bundle.ids
    out, shown = [], 0
    for grp in got.by_label():
        items = grp["items"][:max(0, limit - shown)]
        shown += len(items)
        out.append({"label": grp["label"], "count": len(grp["items"]),
                    "items": [{"id": ids[s.row], "score": round(s.score, 4), "agree": round(s.agree, 3),
                               "neighbour": s.neighbour} for s in items]})
    return jsonify({"version": state["version"], "threshold": round(got.threshold, 4),
                    "threshold_source": got.threshold_source, "gallery": got.gallery,
                    "candidates": got.candidates, "candidates_total": got.candidates_total,
                    "unknown": got.unknown, "groups": out})


def init(app: Flask) -> None:
    """Start building the neighbour index with the server, so the first "more like this" does not
    wait for it (a minute at a million items)."""
    cache = _cache(app.extensions["pixplot"])
    cache.started = True
    threading.Thread(target=_build_index, args=(app.extensions["pixplot"],), name="find-index", daemon=True).start()

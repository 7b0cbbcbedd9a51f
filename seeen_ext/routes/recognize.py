"""``POST /api/recognize``: an image in, its labels out, against the bundle's current annotations.

One of the server's built-in route groups (:mod:`seeen_ext.routes`). The gallery is the
bundle's labelled, non-excluded items at the store's current version (rebuilt, index and
calibrated threshold included, only when the version changes); the detector and embedder are the
bundle's own, so an uploaded photo is embedded exactly as the map was.

The body is the image itself with an ``image/*`` Content-Type, or JSON: ``{"image": "<base64>"}``
or ``{"items": ["<item id>", ...]}`` (recognise items already in the bundle, e.g. the noise,
from their stored embeddings, each leaving itself out). A form upload (multipart) is refused:
a cross-site page can send a form without asking, but not an ``image/*`` or JSON body.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
from flask import Blueprint, abort, jsonify, request

from pixplot.errors import UserError
from seeen_ext.gallery import Gallery
from seeen_ext.recognize import UNKNOWN, Recogniser, RecogniserCache
from seeen_ext.routes.context import ctx as _ctx

bp = Blueprint("pixplot_recognize", __name__)


def recogniser(threshold: str | float, k: int) -> Recogniser:
    """The server's recogniser for the store's current version (:class:`RecogniserCache`)."""
    c = _ctx()
    cache: RecogniserCache = c.extras.setdefault("recognize", RecogniserCache())
    state = c.store.state()

    def gallery() -> Gallery:
        g = Gallery.from_state(c.bundle, state["labels"], state["excluded"])
        if len(g) == 0:
            raise UserError("no labelled items yet: label some clusters, then recognise against them")
        return g

    return cache.get((state["version"], str(threshold), k), gallery, threshold, k)


def _options(body: dict[str, Any]) -> tuple[str | float, int]:
    threshold: Any = body.get("threshold", request.args.get("threshold", "auto"))
    k: Any = body.get("k", request.args.get("k", 5))
    try:
        k = int(k)
    except (TypeError, ValueError):
        abort(400, description="'k' must be a whole number")
    if not 1 <= k <= 100:
        abort(400, description="'k' must be between 1 and 100")
    if threshold != "auto":
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            abort(400, description="'threshold' must be 'auto' or a number between -1 and 1")
    return threshold, k


@bp.post("/api/recognize")
def recognize() -> Any:
    ctype = (request.mimetype or "").lower()
    body: dict[str, Any] = {}
    image: bytes | None = None
    if ctype.startswith("image/"):
        image = request.get_data()
    elif ctype == "application/json":
        got = request.get_json(silent=True)
        if not isinstance(got, dict):
            abort(400, description="the body must be a JSON object")
        body = got
        if isinstance(body.get("image"), str):
            try:
                image = base64.b64decode(body["image"], validate=True)
            except (binascii.Error, ValueError):
                abort(400, description="'image' must be base64")
        elif not isinstance(body.get("items"), list):
            abort(400, description="send {\"image\": \"<base64>\"} or {\"items\": [item ids]}")
    else:
        abort(415, description="send the image with an image/* Content-Type, or JSON {\"image\": \"<base64>\"}")
    threshold, k = _options(body)
    rec = recogniser(threshold, k)
    if image is not None:
        if not image:
            abort(400, description="the image is empty")
        results = rec.recognise_sources([("upload", image)])
    else:
        results = _recognise_items(rec, body["items"])
    g = rec.gallery
    return jsonify({
        "gallery": {"items": len(g), "labels": len(set(g.labels.tolist())), "embedder": g.embedder,
                    "version": _ctx().store.version()},
        "threshold": round(rec.threshold, 4),
        "threshold_source": "auto" if rec.calibration is not None else "given",
        "index": rec.index.kind,
        "results": results,
    })


def _recognise_items(rec: Recogniser, items: list[Any]) -> list[dict[str, Any]]:
    bundle = _ctx().bundle
    if len(items) > 100_000:
        abort(400, description="at most 100000 items per request")
    bad = next((i for i in items if not isinstance(i, str) or i not in bundle.index), None)
    if bad is not None or any(not isinstance(i, str) for i in items):
        abort(400, description=f"unknown item id {bad!r}")
    idx = np.array([bundle.index[i] for i in items], dtype=np.int64)
    E = np.asarray(bundle.embeddings, dtype=np.float32)
    vecs = E[idx] if len(idx) else np.zeros((0, E.shape[1]), np.float32)
    out = []
    for iid, m in zip(items, rec.match(vecs, exclude=list(items)), strict=True):
        out.append({"id": iid, **m.as_json(), "status": "recognised" if m.label != UNKNOWN else "unknown"})
    return out


"""Every other GET: a file of the bundle, never one outside it, private or hidden."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from flask import Blueprint, abort, send_file

from seeen_ext.routes.context import ctx

bp = Blueprint("pixplot_static", __name__)

#: Never served, whatever the path: a store left at the root by an older version (moved out on
#: start) and its journals. Dot-folders (``.pixplot/``, the build cache) are refused anyway.
PRIVATE = ("annotations.sqlite",)


def static_path(root: Path, raw: str) -> Path | None:
    """The file ``raw`` names inside the bundle, or None if it is outside, private or absent.

    The check is on the path as written (components), so links the build placed in the bundle
    (``data/originals``) are served, while ``..``, absolute paths, backslashes, dot-files and the
    store never are."""
    if "\\" in raw or "\x00" in raw:
        return None
    parts = PurePosixPath(raw).parts
    if not parts or raw.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if parts[0].startswith(PRIVATE) or parts[0] in PRIVATE:
        return None
    path = root.joinpath(*parts)
    return path if path.is_file() else None


def _send(raw: str) -> Any:
    path = static_path(ctx().bundle.root.resolve(), raw)
    if path is None:
        abort(404)
    resp = send_file(path, conditional=True, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Pixplot-Serve"] = "1"  # the viewer asks the annotation API only when this is set
    return resp


@bp.get("/")
def index() -> Any:
    return _send("index.html")


@bp.get("/<path:raw>")
def static_file(raw: str) -> Any:
    if raw.startswith("api/"):
        abort(404, description=f"no API route /{raw}")
    return _send(raw)

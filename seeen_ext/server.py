"""`pixplot serve`: the bundle's static files plus the annotation API (docs/api.md).

Thin views over plain functions: each view checks the request's shape and calls the store, the
exporters or the uploader. The app comes from a factory so that tests make a fresh one per test;
:func:`serve` runs it under waitress, a production WSGI server.

Security, in short: only files inside the bundle are served (no ``..``, no absolute paths, no
dot-files, never the store); request bodies are capped (413); writes need ``X-Pixplot-Token``
when a token is set (always when listening beyond loopback); POST bodies must be JSON, which a
cross-site form cannot send without a CORS preflight we never answer; on loopback the Host header
must name loopback, which defeats DNS rebinding.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
import sys
import threading
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from flask import Flask, Response, abort, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from pixplot.bundle import Bundle, open_bundle
from pixplot.errors import UserError
from seeen_ext import export as exports
from seeen_ext.store import AnnotationStore, EventError, open_store, store_path

TOKEN_HEADER = "X-Pixplot-Token"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
#: Entry-point group for extra API routes (recognition...): each is ``register(app)``; the
#: context is ``app.extensions["pixplot"]`` (:class:`ServerContext`).
SERVER_EXTENSIONS = "pixplot.server"
#: Never served, whatever the path: a store left at the root by an older version (moved out on
#: start) and its journals. Dot-folders (``.pixplot/``, the build cache) are refused anyway.
_PRIVATE = ("annotations.sqlite",)


@dataclass
class Job:
    """A background upload, as ``GET /api/jobs/<id>`` reports it."""

    state: str = "running"
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        return {"state": self.state, "done": self.done, "total": self.total, "error": self.error}


@dataclass
class ServerContext:
    bundle: Bundle
    store: AnnotationStore
    token: str | None
    upload_defaults: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _static_path(root: Path, raw: str) -> Path | None:
    """The file ``raw`` names inside the bundle, or None if it is outside, private or absent.

    The check is on the path as written (components), so links the build placed in the bundle
    (``data/originals``) are served, while ``..``, absolute paths, backslashes, dot-files and the
    store never are."""
    if "\\" in raw or "\x00" in raw:
        return None
    parts = PurePosixPath(raw).parts
    if not parts or raw.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    if parts[0].startswith(_PRIVATE) or parts[0] in _PRIVATE:
        return None
    path = root.joinpath(*parts)
    return path if path.is_file() else None


def _host_name(host: str) -> str:
    """``127.0.0.1:5000`` -> ``127.0.0.1``, ``[::1]:5000`` -> ``[::1]``."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        abort(415, description="send the body as JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="the body must be a JSON object")
    return body


def create_app(
    bundle_path: str | Path,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    allowed_hosts: set[str] | None = None,
    upload_defaults: dict[str, Any] | None = None,
) -> Flask:
    """The server for one bundle. ``token``: writes need it in ``X-Pixplot-Token``.
    ``allowed_hosts``: host names (without port) the Host header may carry; None accepts any.
    ``upload_defaults``: ``endpoint_url``/``profile`` used when a POST /api/upload gives none."""
    bundle = open_bundle(bundle_path)
    root = bundle.root.resolve()
    ctx = ServerContext(bundle=bundle, store=open_store(bundle), token=token,
                        upload_defaults=dict(upload_defaults or {}))
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["pixplot"] = ctx

    @app.before_request
    def _guard() -> Any:
        if allowed_hosts is not None:
            host = _host_name(request.host or "")
            if host not in allowed_hosts:
                abort(403, description=f"host {request.host!r} is not served here; open the printed URL")
        if request.method not in ("GET", "HEAD", "OPTIONS") and ctx.token is not None:
            given = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), ctx.token.encode()):
                abort(401, description=f"missing or wrong {TOKEN_HEADER} header; use the token printed by "
                                       "`pixplot serve`")
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/") or exc.code in (401, 413, 415):
            resp = jsonify({"error": exc.description or exc.name})
            resp.status_code = exc.code or 500
            return resp
        return exc

    @app.errorhandler(EventError)
    def _event_error(exc: EventError) -> Any:
        resp = jsonify({"error": str(exc), **{k: v for k, v in exc.fields.items() if v is not None}})
        resp.status_code = 400
        return resp

    @app.errorhandler(UserError)
    def _user_error(exc: UserError) -> Any:
        resp = jsonify({"error": str(exc)})
        resp.status_code = 400
        return resp

    # ------------------------------------------------------------------ annotations
    @app.get("/api/state")
    def state() -> Any:
        return jsonify(ctx.store.state())

    @app.get("/api/events")
    def list_events() -> Any:
        since = request.args.get("since", "0")
        limit = request.args.get("limit")
        if not since.isdigit() or (limit is not None and not limit.isdigit()):
            abort(400, description="'since' and 'limit' must be whole numbers")
        return jsonify(ctx.store.log(int(since), int(limit) if limit else None))

    @app.post("/api/events")
    def post_events() -> Any:
        body = _json_body()
        if "events" not in body:
            abort(400, description="the body must be {\"events\": [...]}")
        res = ctx.store.append(body["events"])
        return jsonify({"accepted": res.accepted, "version": res.version, "duplicates": res.duplicates})

    def _undo_redo(kind: str) -> Any:
        body = _json_body() if request.content_length else {}
        author = body.get("author") or ""
        fn = ctx.store.undo if kind == "undo" else ctx.store.redo
        return jsonify(fn(author, body.get("id")))

    @app.post("/api/undo")
    def undo() -> Any:
        return _undo_redo("undo")

    @app.post("/api/redo")
    def redo() -> Any:
        return _undo_redo("redo")

    # ------------------------------------------------------------------ exports
    @app.get("/api/export")
    def export() -> Any:
        fmt = request.args.get("format", "json")
        st = ctx.store.state()
        if fmt == "csv":
            data, mime, name = exports.to_csv(bundle, st), "text/csv; charset=utf-8", "annotations.csv"
        elif fmt == "json":
            data, mime, name = exports.to_json(bundle, st, ctx.store.events()), "application/json", \
                "annotations.json"
        elif fmt == "gallery":
            data, mime, name = exports.to_gallery(bundle, st), "application/octet-stream", "gallery.npz"
        else:
            abort(400, description=f"unknown format {fmt!r}; use csv, json or gallery")
        return Response(data, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # ------------------------------------------------------------------ upload jobs
    @app.post("/api/upload")
    def upload() -> Any:
        from seeen_ext import upload as uploader

        body = _json_body()
        target = body.get("target")
        if not isinstance(target, str):
            abort(400, description="'target' must be a string like s3://bucket/prefix")
        uploader.parse_target(target)  # a bad target is a 400 now, not a failed job later
        endpoint = body.get("endpoint_url") or ctx.upload_defaults.get("endpoint_url")
        if endpoint is not None and not isinstance(endpoint, str):
            abort(400, description="'endpoint_url' must be a string")
        include = bool(body.get("include_unlabelled", False))
        job_id = uuid.uuid4().hex
        job = Job()
        with ctx.lock:
            ctx.jobs[job_id] = job

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def run() -> None:
            try:
                result = uploader.upload_bundle(
                    bundle, ctx.store.state(), target, endpoint_url=endpoint,
                    profile=ctx.upload_defaults.get("profile"), include_unlabelled=include, progress=progress,
                )
                job.result = result.summary()
                job.state = "done"
            except UserError as exc:
                job.error, job.state = str(exc), "failed"
            except Exception as exc:  # a job must end; the message goes to the viewer
                job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"

        threading.Thread(target=run, name=f"upload-{job_id[:8]}", daemon=True).start()
        return jsonify({"job": job_id}), 202

    @app.get("/api/jobs/<job_id>")
    def job_status(job_id: str) -> Any:
        job = ctx.jobs.get(job_id)
        if job is None:
            abort(404, description=f"no job {job_id!r}")
        return jsonify(job.public())

    # ------------------------------------------------------------------ static bundle
    @app.get("/")
    def index() -> Any:
        return _send(root, "index.html")

    @app.get("/<path:raw>")
    def static_file(raw: str) -> Any:
        if raw.startswith("api/"):
            abort(404, description=f"no API route /{raw}")
        return _send(root, raw)

    for ep in metadata.entry_points(group=SERVER_EXTENSIONS):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken extension never takes the annotation API down with it
            print(f"pixplot: warning: server extension {ep.name} failed to load ({exc})", file=sys.stderr)
    return app


def _send(root: Path, raw: str) -> Any:
    path = _static_path(root, raw)
    if path is None:
        abort(404)
    resp = send_file(path, conditional=True, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def open_url(host: str, port: int, token: str | None) -> str:
    """The URL to print: the token travels in the fragment, which browsers never send."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = socket.gethostname()
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}/"
    return url + (f"#token={token}" if token else "")


def serve(
    bundle_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 5000,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    threads: int = 8,
    upload_defaults: dict[str, Any] | None = None,
) -> None:
    """Run the server until interrupted. Beyond loopback a token is always required.
    ``port`` 0 picks a free port (the printed URL shows it)."""
    from waitress.server import create_server

    loopback = is_loopback(host)
    if not loopback and not token:
        token = secrets.token_urlsafe(24)
    allowed = {"127.0.0.1", "localhost", "[::1]", "::1"} if loopback else None
    app = create_app(bundle_path, token=token, max_body=max_body, allowed_hosts=allowed,
                     upload_defaults=upload_defaults)
    try:
        server = create_server(app, host=host, port=port, threads=threads, max_request_body_size=max_body,
                               ident="pixplot")
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port or --host") \
            from exc
    port = int(getattr(server, "effective_port", port))
    print(f"pixplot: serving {Path(bundle_path)} (annotations in {store_path(Path(bundle_path))}, "
          "never published)")
    if token and not loopback:
        print(f"pixplot: writes need the token {token}")
    print(f"pixplot: open {open_url(host, port, token)}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        print("pixplot: stopped; every acknowledged annotation is saved")
    finally:
        server.close()

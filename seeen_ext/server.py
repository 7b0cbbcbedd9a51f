"""`pixplot serve`: the bundle's static files plus the annotation API (docs/api.md).

This module is the factory and the guard; the views are in :mod:`seeen_ext.routes`, one
Blueprint per route group, each a thin view over plain functions (the store, the exporters, the
uploader, the recogniser). The app comes from a factory so that tests make a fresh one per test;
:func:`serve` runs it under waitress, a production WSGI server.

Security, in short: only files inside the bundle are served (no ``..``, no absolute paths, no
dot-files, never the store); request bodies are capped (413); writes need ``X-Pixplot-Token``
when a token is set (always when listening beyond loopback); POST bodies must be JSON, which a
cross-site form cannot send without a CORS preflight we never answer; on loopback the Host header
must name loopback, which defeats DNS rebinding.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import secrets
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from seeen_ext.jobs import JobRunner
from seeen_ext.routes import BUILTIN
from seeen_ext.routes.context import ServerContext
from seeen_ext.store import EventError, open_store, store_path

TOKEN_HEADER = "X-Pixplot-Token"
DEFAULT_MAX_BODY = 16 * 1024 * 1024
#: Entry-point group for extra API routes from other packages: each is ``register(app)``; the
#: context is ``app.extensions["pixplot"]`` (:class:`ServerContext`).
SERVER_EXTENSIONS = "pixplot.server"


def is_loopback(host: str) -> bool:
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """``127.0.0.1:5000`` -> ``127.0.0.1``, ``[::1]:5000`` -> ``[::1]``."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0]


def create_app(
    bundle_path: str | Path,
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    allowed_hosts: set[str] | None = None,
    upload_defaults: dict[str, Any] | None = None,
    jobs: JobRunner | None = None,
) -> Flask:
    """The server for one bundle. ``token``: writes need it in ``X-Pixplot-Token``.
    ``allowed_hosts``: host names (without port) the Host header may carry; None accepts any.
    ``upload_defaults``: ``endpoint_url``/``profile`` used when a POST /api/upload gives none.
    ``jobs``: the background job runner (a fresh one by default)."""
    bundle = open_bundle(bundle_path)
    ctx = ServerContext(bundle=bundle, store=open_store(bundle), token=token,
                        upload_defaults=dict(upload_defaults or {}), jobs=jobs or JobRunner())
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

    for name in BUILTIN:
        module = importlib.import_module(f"seeen_ext.routes.{name}")
        app.register_blueprint(module.bp)
        if hasattr(module, "init"):  # work a group starts with the server (e.g. building an index)
            module.init(app)
    for ep in metadata.entry_points(group=SERVER_EXTENSIONS):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken extension never takes the annotation API down with it
            print(f"pixplot: warning: server extension {ep.name} failed to load ({exc})", file=sys.stderr)
    return app


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

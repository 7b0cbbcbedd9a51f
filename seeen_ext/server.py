"""`pixplot serve`: the bundle's static files plus the annotation API (docs/api.md).

This module is the factory and the guard; the views are in :mod:`seeen_ext.routes`, one
Blueprint per route group, each a thin view over plain functions (the store, the exporters, the
uploader, the recogniser). The app comes from a factory so that tests make a fresh one per test;
:func:`serve` runs it under waitress, a production WSGI server.

Security, in short: only files inside the bundle are served (no ``..``, no absolute paths, no
dot-files, never the store); request bodies are capped (413, JSON like every other error, even
when waitress answers it); writes need ``X-Pixplot-Token`` when a token is set (always when
listening beyond loopback); on loopback the Host header must name loopback, which defeats DNS
rebinding. Cross-site writes are refused (:func:`cross_site_refusal`): every POST/PUT/PATCH/DELETE,
even with an empty body, must carry ``X-Requested-With`` or the token header (custom headers that
another site's page cannot send without a CORS preflight we never answer), and an ``Origin`` or
``Sec-Fetch-Site`` header, when the browser sends one, must say the request comes from this site.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import json
import secrets
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from seeen_ext.jobs import JobRunner
from seeen_ext.routes import BUILTIN
from seeen_ext.routes.context import ServerContext
from seeen_ext.store import EventError, open_store, store_path

TOKEN_HEADER = "X-Pixplot-Token"
#: Writes carry this header (any value; the viewer sends ``pixplot``) or :data:`TOKEN_HEADER`.
WRITE_HEADER = "X-Requested-With"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
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


def cross_site_refusal(method: str, headers: Any, host: str) -> str | None:
    """Why a request may have been sent by another site's page (None: it was not, or it reads).

    A page elsewhere can make a browser send a plain form, or a ``no-cors`` fetch with an empty body,
    to this server; it cannot add a custom header without a CORS preflight, which we never answer.
    Browsers also say where a request comes from (``Origin``, ``Sec-Fetch-Site``); scripts and curl
    send neither, and pass with the custom header alone."""
    if method in SAFE_METHODS:
        return None
    if not (headers.get(WRITE_HEADER) or headers.get(TOKEN_HEADER)):
        return (f"writes need the header {WRITE_HEADER} (any value, e.g. 'pixplot') or {TOKEN_HEADER}; "
                "a page on another site cannot send either")
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"refused a {site} request: writes come only from this server's own pages"
    origin = headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        return f"refused a request from origin {origin!r}: writes come only from this server's own pages"
    return None


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
        if request.method not in SAFE_METHODS and ctx.token is not None:
            given = request.headers.get(TOKEN_HEADER, "")
            if not hmac.compare_digest(given.encode(), ctx.token.encode()):
                abort(401, description=f"missing or wrong {TOKEN_HEADER} header; use the token printed by "
                                       "`pixplot serve`")
        refusal = cross_site_refusal(request.method, request.headers, request.host or "")
        if refusal is not None:
            abort(403, description=refusal)
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


def _waitress_channel() -> Any:
    """waitress's channel, answering its own errors (413 body too large, 400 malformed request...)
    with the ``{"error": ...}`` JSON of every other error instead of plain text."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class JSONErrorTask(ErrorTask):  # type: ignore[misc]
        def execute(self) -> None:
            e = self.request.error
            if e.code == 413:
                message = f"the request body is larger than this server's limit ({e.body})"
            else:
                message = f"{e.reason}: {e.body}"
            body = json.dumps({"error": message}).encode("utf-8")
            self.status = f"{e.code} {e.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class JSONErrorChannel(HTTPChannel):  # type: ignore[misc]
        error_task_class = JSONErrorTask

    return JSONErrorChannel


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
    channel = _waitress_channel()
    for listener in [server, *getattr(server, "map", {}).values()]:  # one, or several for a multi-socket server
        if hasattr(listener, "channel_class"):
            listener.channel_class = channel
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

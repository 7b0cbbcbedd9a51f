"""What every view needs: the server's context, and the request-body check they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import abort, current_app, request

from pixplot.bundle import Bundle
from seeen_ext.jobs import JobRunner
from seeen_ext.store import AnnotationStore


@dataclass
class ServerContext:
    """One served bundle: ``app.extensions["pixplot"]``. Extensions may keep their own state in
    ``extras`` (by their name), never in attributes of their own."""

    bundle: Bundle
    store: AnnotationStore
    token: str | None
    upload_defaults: dict[str, Any] = field(default_factory=dict)
    jobs: JobRunner = field(default_factory=JobRunner)
    extras: dict[str, Any] = field(default_factory=dict)


def ctx() -> ServerContext:
    """The context of the app handling the current request."""
    return current_app.extensions["pixplot"]  # type: ignore[no-any-return]


def json_body() -> dict[str, Any]:
    """The request's JSON object body; 415 for another type, 400 for JSON that is not an object."""
    if not request.is_json:
        abort(415, description="send the body as JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="the body must be a JSON object")
    return body

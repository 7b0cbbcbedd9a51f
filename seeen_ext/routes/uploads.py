"""Upload jobs: ``POST /api/upload`` starts one, ``GET /api/jobs/<id>`` follows it and
``GET /api/jobs/<id>/result`` serves what it produced (docs/api.md, "Upload jobs")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify

from seeen_ext.jobs import JobsBusy, Progress
from seeen_ext.routes.context import ctx, json_body

bp = Blueprint("pixplot_uploads", __name__)


@bp.post("/api/upload")
def upload() -> Any:
    from seeen_ext import upload as uploader  # boto3 is loaded only when an upload starts

    c = ctx()
    body = json_body()
    target = body.get("target")
    if not isinstance(target, str):
        abort(400, description="'target' must be a string like s3://bucket/prefix")
    uploader.parse_target(target)  # a bad target is a 400 now, not a failed job later
    endpoint = body.get("endpoint_url") or c.upload_defaults.get("endpoint_url")
    if endpoint is not None and not isinstance(endpoint, str):
        abort(400, description="'endpoint_url' must be a string")
    include = body.get("include_unlabelled", False)
    if not isinstance(include, bool):  # bool("false") is True: only JSON true/false mean anything
        abort(400, description="'include_unlabelled' must be true or false (JSON booleans, not strings)")
    bundle, store, profile = c.bundle, c.store, c.upload_defaults.get("profile")

    def work(progress: Progress) -> dict[str, Any]:
        return uploader.upload_bundle(bundle, store.state(), target, endpoint_url=endpoint, profile=profile,
                                      include_unlabelled=include, progress=progress).summary()

    try:
        job = c.jobs.start("upload", work)
    except JobsBusy as exc:
        abort(429, description=str(exc))
    return jsonify({"job": job.id}), 202


def _job(job_id: str) -> Any:
    job = ctx().jobs.get(job_id)
    if job is None:
        abort(404, description=f"no job {job_id!r} (unknown, or forgotten: only the latest jobs are kept)")
    return job


@bp.get("/api/jobs/<job_id>")
def job_status(job_id: str) -> Any:
    return jsonify(_job(job_id).public())


@bp.get("/api/jobs/<job_id>/result")
def job_result(job_id: str) -> Any:
    job = _job(job_id)
    if job.state != "done":
        abort(409, description=f"job {job_id!r} is {job.state}" + (f": {job.error}" if job.error else ""))
    return jsonify(job.result)

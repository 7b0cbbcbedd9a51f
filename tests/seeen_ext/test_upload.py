from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from pixplot.bundle import open_bundle
from pixplot.errors import UserError
from seeen_ext.export import item_jpeg
from seeen_ext.server import create_app
from seeen_ext.store import open_store
from seeen_ext.upload import parse_target, upload_bundle
from tests.seeen_ext.conftest import api_client


def _label_all(bundle_path: Path, exclude: int = 1, unlabelled: int = 1) -> Any:
    """Label every item but the last ``unlabelled``; exclude the first ``exclude`` labelled ones."""
    b = open_bundle(bundle_path)
    ids = b.ids
    labelled = ids[: len(ids) - unlabelled]
    store = open_store(b)
    store.append([{"id": f"l{i}", "type": "label", "items": [item], "label": ["cat", "dog", "Zoë"][i % 3]}
                  for i, item in enumerate(labelled)])
    if exclude:
        store.append([{"id": "x", "type": "exclude", "items": labelled[:exclude]}])
    return b


def _objects(server: Any, prefix: str) -> dict[str, dict[str, Any]]:
    client = server.client()
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=server.bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj
    return out


def _get(server: Any, key: str) -> bytes:
    return server.client().get_object(Bucket=server.bucket, Key=key)["Body"].read()


def _counting_session() -> tuple[Any, list[str]]:
    """A real boto3 session that records every PutObject/multipart call it sends."""
    sent: list[str] = []
    session = boto3.Session()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        sent.append(f"{model.name} {params.get('Key')}")

    for op in ("PutObject", "CreateMultipartUpload", "UploadPart"):
        session.events.register(f"provide-client-params.s3.{op}", count)
    return session, sent


def test_upload_lands_byte_exact_with_sha256_in_the_manifest(bundle: Path, aws_env: Any) -> None:
    b = _label_all(bundle)
    prefix = f"run-{uuid.uuid4().hex[:8]}"
    res = upload_bundle(b, open_store(b).state(), f"s3://{aws_env.bucket}/{prefix}", endpoint_url=aws_env.endpoint)
    objects = _objects(aws_env, prefix)
    manifest = json.loads(_get(aws_env, f"{prefix}/manifest.json"))
    listed = {o["key"]: o for o in manifest["objects"]}
    assert set(objects) == set(listed) | {f"{prefix}/manifest.json"}
    for key, entry in listed.items():
        data = _get(aws_env, key)
        assert len(data) == entry["size"] == objects[key]["Size"]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], key
    st = open_store(b).state()
    expected_images = {f"{prefix}/images/{st['labels'][i]}/{i}.jpg" for i in b.ids
                       if i in st["labels"] and i not in st["excluded"]}
    assert {k for k in listed if "/images/" in k} == expected_images
    for key in expected_images:  # the bytes are the item's picture, exactly
        item = b.items[b.index[key.rsplit("/", 1)[1][:-4]]]
        assert _get(aws_env, key) == item_jpeg(b, item)
    csv_lines = _get(aws_env, f"{prefix}/labels.csv").decode().strip().split("\n")
    assert csv_lines[0] == "item_id,label,source,box,cluster_id,excluded" and len(csv_lines) == len(expected_images) + 1
    with np.load(io.BytesIO(_get(aws_env, f"{prefix}/gallery.npz"))) as z:
        assert len(z["ids"]) == len(expected_images) and str(z["embedder"]) == b.manifest["embedder"]["id"]
    assert len(res.uploaded) == len(listed) + 1 and res.skipped == []


def test_second_upload_sends_nothing(bundle: Path, aws_env: Any) -> None:
    b = _label_all(bundle)
    target = f"s3://{aws_env.bucket}/again-{uuid.uuid4().hex[:8]}"
    first = upload_bundle(b, open_store(b).state(), target, endpoint_url=aws_env.endpoint)
    before = {k: o["LastModified"] for k, o in _objects(aws_env, target.split("/", 3)[3]).items()}
    session, sent = _counting_session()
    second = upload_bundle(b, open_store(b).state(), target, endpoint_url=aws_env.endpoint, session=session)
    assert sent == []
    assert second.uploaded == [] and len(second.skipped) == len(first.uploaded)
    for res in (first, second):  # the summary counts the same objects it says it sent or kept
        s = res.summary()
        assert s["objects"] == s["uploaded"] + s["skipped"] == len(first.uploaded)
    after = {k: o["LastModified"] for k, o in _objects(aws_env, target.split("/", 3)[3]).items()}
    assert after == before


def test_changed_label_uploads_only_what_changed(bundle: Path, aws_env: Any) -> None:
    b = _label_all(bundle, exclude=0)
    target = f"s3://{aws_env.bucket}/change-{uuid.uuid4().hex[:8]}"
    upload_bundle(b, open_store(b).state(), target, endpoint_url=aws_env.endpoint)
    item = b.ids[0]
    open_store(b).append([{"id": "relabel", "type": "label", "items": [item], "label": "bird"}])
    session, sent = _counting_session()
    res = upload_bundle(b, open_store(b).state(), target, endpoint_url=aws_env.endpoint, session=session)
    prefix = target.split("/", 3)[3]
    assert sorted(res.uploaded) == sorted([f"{prefix}/images/bird/{item}.jpg", f"{prefix}/labels.csv",
                                           f"{prefix}/gallery.npz", f"{prefix}/manifest.json"])
    assert len(sent) == 4


def test_excluded_and_unlabelled_go_only_with_the_flag(bundle: Path, aws_env: Any) -> None:
    b = _label_all(bundle, exclude=1, unlabelled=1)
    st = open_store(b).state()
    prefix = f"all-{uuid.uuid4().hex[:8]}"
    upload_bundle(b, st, f"s3://{aws_env.bucket}/{prefix}", endpoint_url=aws_env.endpoint, include_unlabelled=True)
    keys = set(_objects(aws_env, prefix))
    assert f"{prefix}/images/_excluded/{st['excluded'][0]}.jpg" in keys
    assert f"{prefix}/images/_unlabelled/{b.ids[-1]}.jpg" in keys
    assert sum("/images/" in k for k in keys) == len(b.ids)
    prefix2 = f"some-{uuid.uuid4().hex[:8]}"
    upload_bundle(b, st, f"s3://{aws_env.bucket}/{prefix2}", endpoint_url=aws_env.endpoint)
    assert sum("/images/" in k for k in _objects(aws_env, prefix2)) == len(b.ids) - 2


def test_wrong_credentials_give_a_one_line_error(bundle: Path, s3_server: Any) -> None:
    _label_all(bundle)
    proc = subprocess.run(
        [sys.executable, "-m", "pixplot", "upload", str(bundle), f"s3://{s3_server.bucket}/denied",
         "--endpoint-url", s3_server.endpoint],
        env=s3_server.env(secret="not-the-secret"), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "upload:" not in line]
    assert len(lines) == 1, proc.stderr
    assert "refused the credentials" in lines[0] and "Traceback" not in proc.stderr
    assert _objects(s3_server, "denied") == {}


def test_cli_upload_shows_progress_and_summary(bundle: Path, s3_server: Any) -> None:
    _label_all(bundle)
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run(
        [sys.executable, "-m", "pixplot", "upload", str(bundle), f"s3://{s3_server.bucket}/{prefix}",
         "--endpoint-url", s3_server.endpoint],
        env=s3_server.env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "upload:" in proc.stderr and "obj" in proc.stderr  # the tqdm bar
    assert "uploaded" in proc.stdout
    assert f"{prefix}/manifest.json" in _objects(s3_server, prefix)


_SLOW_UPLOAD = textwrap.dedent("""
    import sys, time
    import boto3
    from pixplot.bundle import open_bundle
    from seeen_ext.store import open_store
    from seeen_ext.upload import upload_bundle

    session = boto3.Session()
    session.events.register("before-send.s3.PutObject", lambda **kw: time.sleep(0.15))
    b = open_bundle(sys.argv[1])
    upload_bundle(b, open_store(b).state(), sys.argv[2], endpoint_url=sys.argv[3], session=session, workers=2)
""")


@pytest.mark.slow
def test_upload_killed_midway_finishes_on_rerun(make_bundle: Any, s3_server: Any, aws_env: Any) -> None:
    path = make_bundle("big", n_images=30)
    b = _label_all(path, exclude=0, unlabelled=0)
    prefix = f"kill-{uuid.uuid4().hex[:8]}"
    target = f"s3://{s3_server.bucket}/{prefix}"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_UPLOAD, str(path), target, s3_server.endpoint],
                            env=s3_server.env())
    deadline = time.monotonic() + 60
    while len(_objects(s3_server, prefix)) < 6 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    landed = set(_objects(s3_server, prefix))
    assert 6 <= len(landed) < len(b.ids) and f"{prefix}/manifest.json" not in landed
    res = upload_bundle(b, open_store(b).state(), target, endpoint_url=s3_server.endpoint)
    assert set(res.skipped) == landed  # what landed before the kill is not sent again
    manifest = json.loads(_get(s3_server, f"{prefix}/manifest.json"))
    assert len(manifest["objects"]) == len(b.ids) + 2
    for entry in manifest["objects"]:
        assert hashlib.sha256(_get(s3_server, entry["key"])).hexdigest() == entry["sha256"]


def test_server_upload_job_reaches_done(bundle: Path, aws_env: Any) -> None:
    _label_all(bundle)
    client = api_client(create_app(bundle, upload_defaults={"endpoint_url": aws_env.endpoint}))
    prefix = f"job-{uuid.uuid4().hex[:8]}"
    r = client.post("/api/upload", json={"target": f"s3://{aws_env.bucket}/{prefix}"})
    assert r.status_code == 202
    job = r.get_json()["job"]
    deadline = time.monotonic() + 60
    while (st := client.get(f"/api/jobs/{job}").get_json())["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert st == {"state": "done", "done": st["total"], "total": st["total"], "error": None}
    assert f"{prefix}/manifest.json" in _objects(aws_env, prefix)
    result = client.get(f"/api/jobs/{job}/result").get_json()
    assert result["target"] == f"s3://{aws_env.bucket}/{prefix}" and result["uploaded"] > 0
    assert client.get("/api/jobs/nope").status_code == 404


def test_server_upload_job_reports_refused_credentials(bundle: Path, aws_env: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _label_all(bundle)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    client = api_client(create_app(bundle))
    r = client.post("/api/upload", json={"target": f"s3://{aws_env.bucket}/x", "endpoint_url": aws_env.endpoint})
    job = r.get_json()["job"]
    deadline = time.monotonic() + 60
    while (st := client.get(f"/api/jobs/{job}").get_json())["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert st["state"] == "failed" and "refused the credentials" in st["error"]
    r = client.get(f"/api/jobs/{job}/result")
    assert r.status_code == 409 and "refused the credentials" in r.get_json()["error"]
    assert client.post("/api/upload", json={"target": "http://x"}).status_code == 400


def test_bad_targets_are_user_errors() -> None:
    assert parse_target("s3://b/p/q/").prefix == "p/q"
    assert parse_target("s3://b").prefix == ""
    for bad in ("b/p", "s3://", "s3:///p", "s3://b/../x"):
        with pytest.raises(UserError):
            parse_target(bad)


def test_large_object_goes_multipart_byte_exact_and_is_recognised_after(aws_env: Any) -> None:
    from pixplot.sources import s3_client
    from seeen_ext.upload import Target, _Sync

    mib = 1024 * 1024
    data = np.random.default_rng(3).integers(0, 256, 11 * mib, dtype=np.uint8).tobytes()
    sha = hashlib.sha256(data).hexdigest()
    target = Target(aws_env.bucket, f"multi-{uuid.uuid4().hex[:8]}")
    sync = _Sync(s3_client(aws_env.endpoint, pool=4), target, multipart_threshold=5 * mib, multipart_chunk=5 * mib)
    key = target.key("big.bin")
    sync.put(key, data, sha, "application/octet-stream")
    assert _get(aws_env, key) == data
    head = aws_env.client().head_object(Bucket=aws_env.bucket, Key=key)
    assert "-" in head["ETag"]  # really multipart: the ETag is not the MD5
    again = _Sync(s3_client(aws_env.endpoint, pool=4), target)
    again.scan()
    assert again.same(key, data, sha)  # through the sha256 metadata
    assert not again.same(key, data[:-1] + b"x", hashlib.sha256(data[:-1] + b"x").hexdigest())

"""Upload a bundle's labelled images, labels, gallery and a manifest to S3-compatible storage.

The promise is the AWS CLI's ``s3 sync``'s: a rerun sends only what is missing or changed, and a
killed upload finishes on the next run. Every object is put whole (S3 puts are atomic), carries
its sha256 in its metadata, and is skipped on a rerun when the remote copy provably has the same
bytes (same size and an MD5 ETag, the previous manifest's sha256, or the sha256 metadata).
``manifest.json`` goes last, so its presence means the upload finished.

Credentials come from the standard AWS chain (environment, ``~/.aws``, ``--profile``, instance
role) on the machine that runs this; they never travel to or from a browser.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from pixplot.bundle import Bundle
from pixplot.errors import UserError
from pixplot.sources import s3_client
from seeen_ext import export as exports
from seeen_ext.gallery import Gallery

MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
_AUTH_CODES = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken",
               "ExpiredToken", "InvalidSecurity", "403", "401", "AuthorizationHeaderMalformed"}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str  # "" or ending without a slash

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_target(target: str) -> Target:
    """``s3://bucket/prefix`` -> Target; anything else is the user's to fix."""
    if not isinstance(target, str) or not target.startswith("s3://"):
        raise UserError(f"{target!r}: the upload target must look like s3://bucket/prefix")
    bucket, _, prefix = target[5:].partition("/")
    if not bucket or "/" in bucket:
        raise UserError(f"{target!r}: no bucket name; the target must look like s3://bucket/prefix")
    prefix = prefix.strip("/")
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        raise UserError(f"{target!r}: the prefix has empty, '.' or '..' parts; write it plainly")
    return Target(bucket, prefix)


@dataclass
class UploadResult:
    target: Target
    objects: list[dict[str, Any]] = field(default_factory=list)  # key, size, sha256, in manifest order
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bytes_sent: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts of this run: ``objects`` = ``uploaded`` + ``skipped``, the manifest included
        (``self.objects`` is the manifest's list, which cannot include the manifest itself)."""
        return {"target": str(self.target), "objects": len(self.uploaded) + len(self.skipped),
                "uploaded": len(self.uploaded), "skipped": len(self.skipped), "bytes_sent": self.bytes_sent}


def _explain(exc: Exception, target: Target, endpoint_url: str | None) -> UserError | None:
    """A one-line UserError for what the user can fix (credentials, bucket, endpoint), else None."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = f"{target}" + (f" at {endpoint_url}" if endpoint_url else "")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return UserError(f"{where}: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                         "or pass --profile")
    if isinstance(exc, EndpointConnectionError):
        return UserError(f"{where}: cannot reach the storage server; check --endpoint-url and the network")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _AUTH_CODES:
            return UserError(f"{where}: the storage refused the credentials ({code}); check AWS_ACCESS_KEY_ID / "
                             "AWS_SECRET_ACCESS_KEY or --profile")
        if code in ("NoSuchBucket", "404"):
            return UserError(f"{where}: bucket {target.bucket!r} does not exist; create it or fix the target")
    return None


def _md5_etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class _Sync:
    """One upload run: the remote listing, then one put per object that differs."""

    def __init__(self, client: Any, target: Target, multipart_threshold: int = MULTIPART_THRESHOLD,
                 multipart_chunk: int = MULTIPART_CHUNK) -> None:
        self.client = client
        self.target = target
        self.multipart_threshold = multipart_threshold
        self.multipart_chunk = multipart_chunk
        self.remote: dict[str, tuple[int, str]] = {}  # key -> (size, etag)
        self.remote_sha: dict[str, str] = {}  # key -> sha256, from the previous manifest

    def scan(self) -> None:
        pager = self.client.get_paginator("list_objects_v2")
        prefix = self.target.key("") if self.target.prefix else ""
        for page in pager.paginate(Bucket=self.target.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                self.remote[obj["Key"]] = (int(obj["Size"]), str(obj.get("ETag", "")).strip('"'))
        mkey = self.target.key("manifest.json")
        if mkey in self.remote:
            body = self.client.get_object(Bucket=self.target.bucket, Key=mkey)["Body"].read()
            try:
                for obj in json.loads(body).get("objects", []):
                    self.remote_sha[obj["key"]] = obj["sha256"]
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # an unreadable old manifest only costs re-checks

    def same(self, key: str, data: bytes, sha: str) -> bool:
        have = self.remote.get(key)
        if have is None or have[0] != len(data):
            return False
        if have[1] == _md5_etag(data) or self.remote_sha.get(key) == sha:
            return True
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.target.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return False  # deleted since the listing
            raise
        return head.get("Metadata", {}).get("sha256") == sha

    def put(self, key: str, data: bytes, sha: str, content_type: str) -> None:
        extra = {"Metadata": {"sha256": sha}, "ContentType": content_type}
        if len(data) < self.multipart_threshold:
            self.client.put_object(Bucket=self.target.bucket, Key=key, Body=data, **extra)
        else:
            from boto3.s3.transfer import TransferConfig

            cfg = TransferConfig(multipart_threshold=self.multipart_threshold,
                                 multipart_chunksize=self.multipart_chunk, max_concurrency=4)
            self.client.upload_fileobj(io.BytesIO(data), self.target.bucket, key, ExtraArgs=extra, Config=cfg)


def upload_bundle(
    bundle: Bundle,
    state: dict[str, Any],
    target: str,
    endpoint_url: str | None = None,
    profile: str | None = None,
    include_unlabelled: bool = False,
    progress: Progress | None = None,
    workers: int = 8,
    session: Any = None,
) -> UploadResult:
    """Upload images (``images/<label>/<item_id>.jpg``), ``labels.csv``, ``gallery.npz`` and, last,
    ``manifest.json`` under ``target``. ``session``: a boto3 Session (default: the AWS chain)."""
    tgt = parse_target(target)
    try:
        return _upload(bundle, state, tgt, endpoint_url, profile, include_unlabelled, progress, workers, session)
    except UserError:
        raise
    except Exception as exc:
        explained = _explain(exc, tgt, endpoint_url)
        if explained is not None:
            raise explained from exc
        raise


def _upload(bundle: Bundle, state: dict[str, Any], tgt: Target, endpoint_url: str | None, profile: str | None,
            include_unlabelled: bool, progress: Progress | None, workers: int, session: Any) -> UploadResult:
    sync = _Sync(s3_client(endpoint_url, profile, pool=max(10, workers * 2), session=session), tgt)
    sync.scan()
    selection = exports.selected_rows(bundle, state, include_unlabelled)
    result = UploadResult(tgt)
    jobs: list[tuple[str, Callable[[], bytes], str]] = [
        (tgt.key("images/" + exports.image_key(r)), (lambda r=r: exports.item_jpeg(bundle, r.item)), "image/jpeg")
        for r in selection
    ]
    jobs.append((tgt.key("labels.csv"), lambda: exports.labels_csv(selection, bundle), "text/csv; charset=utf-8"))
    gallery = Gallery.from_state(bundle, state["labels"], state["excluded"])
    jobs.append((tgt.key("gallery.npz"), gallery.to_npz, "application/octet-stream"))
    total = len(jobs) + 1
    done = 0
    entries: dict[str, dict[str, Any]] = {}

    def one(key: str, make: Callable[[], bytes], ctype: str) -> tuple[str, int, str, bool]:
        data = make()
        sha = hashlib.sha256(data).hexdigest()
        if sync.same(key, data, sha):
            return key, len(data), sha, False
        sync.put(key, data, sha, ctype)
        return key, len(data), sha, True

    def record(key: str, size: int, sha: str, sent: bool) -> None:
        nonlocal done
        entries[key] = {"key": key, "size": size, "sha256": sha}
        (result.uploaded if sent else result.skipped).append(key)
        result.bytes_sent += size if sent else 0
        done += 1
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upload") as pool:
        futures = [pool.submit(one, *job) for job in jobs]
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in finished:
                if fut.exception() is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise fut.exception()  # type: ignore[misc]
                record(*fut.result())
    result.objects = [entries[k] for k in sorted(entries)]
    manifest = {
        "format": "pixplot-upload",
        "version": 1,
        "embedder": bundle.embedder_id or None,
        "counts": {"images": len(selection), "labels": len({r.label for r in selection if r.label is not None})},
        "objects": result.objects,
    }
    data = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
    record(*one(tgt.key("manifest.json"), lambda: data, "application/json"))
    return result

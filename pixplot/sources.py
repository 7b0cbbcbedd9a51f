"""Where image bytes come from: a local (or shared) path, or an ``s3://bucket/key`` URL.

The per-item work functions call these helpers, so a worker reads each image itself,
wherever it runs; the driver only lists. The S3 endpoint and profile travel to worker
processes as environment variables (``PIXPLOT_S3_ENDPOINT_URL``, ``PIXPLOT_S3_PROFILE``),
credentials through boto3's standard chain; one client is made per process and reused.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENDPOINT_VAR = "PIXPLOT_S3_ENDPOINT_URL"
PROFILE_VAR = "PIXPLOT_S3_PROFILE"
#: Variables a remote worker needs to reach the same bucket as the driver (sent only when set).
FORWARDED_VARS = (ENDPOINT_VAR, PROFILE_VAR, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                  "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                  "AWS_EC2_METADATA_DISABLED")

_lock = threading.Lock()
_clients: dict[tuple[str | None, str | None], Any] = {}


def is_s3(path: str | os.PathLike[str]) -> bool:
    return str(path).startswith("s3://")


def split_s3(url: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> (``bucket``, ``some/key``)."""
    rest = url[len("s3://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


@contextmanager
def s3_settings(endpoint_url: str | None, profile: str | None) -> Iterator[None]:
    """Set the endpoint and profile for this process and the worker processes it starts,
    and put the previous values back afterwards."""
    saved = {k: os.environ.get(k) for k in (ENDPOINT_VAR, PROFILE_VAR)}
    for k, v in ((ENDPOINT_VAR, endpoint_url), (PROFILE_VAR, profile)):
        if v:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def worker_env() -> dict[str, str]:
    """The S3 settings and AWS variables of this process that a remote worker needs."""
    return {k: os.environ[k] for k in FORWARDED_VARS if os.environ.get(k)}


def s3_client(endpoint_url: str | None = None, profile: str | None = None, *, pool: int = 16,
              session: Any = None) -> Any:
    """An S3 client, the one recipe for every S3 user (build input, upload, galleries).

    Credentials come from boto3's standard chain (``profile`` picks a named one; an unknown one is a
    :class:`~pixplot.errors.UserError`). Failed requests are retried with exponential backoff and
    jitter; checksums only where the protocol requires them, since S3-compatible servers (MinIO,
    SeaweedFS, Ceph) vary in CRC support; an ``endpoint_url`` without a configured region gets
    ``us-east-1``, which such servers accept. ``pool``: connections kept, at least the threads
    that share the client. ``session``: a ready boto3 session (tests count its requests)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    from pixplot.errors import UserError

    try:
        session = session or boto3.session.Session(profile_name=profile)
    except ProfileNotFound as exc:
        raise UserError(f"AWS profile {profile!r} not found in ~/.aws/config; check --profile") from exc
    config = Config(
        retries={"max_attempts": 8, "mode": "standard"},
        max_pool_connections=pool,
        connect_timeout=10,
        read_timeout=120,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    region = session.region_name or ("us-east-1" if endpoint_url else None)
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def client() -> Any:
    """The process's S3 client for the current endpoint and profile (made once, thread-safe)."""
    key = (os.environ.get(ENDPOINT_VAR) or None, os.environ.get(PROFILE_VAR) or None)
    with _lock:
        c = _clients.get(key)
        if c is None:
            c = _clients[key] = s3_client(key[0], key[1])
    return c


@dataclass(frozen=True)
class Blob:
    data: bytes
    size: int
    mtime_ns: int


class TooLarge(OSError):
    """A file or object above the size cap; nothing of it was read."""

    def __init__(self, size: int, cap: int):
        super().__init__(f"{size} bytes, above the {cap}-byte cap")
        self.size, self.cap = size, cap


def read(path: str, max_size: int | None = None) -> Blob:
    """The bytes of a file or object with its size and modification time (ns since the epoch).

    Raises ``OSError`` for anything unreadable, as ``open()`` does, so callers treat a missing
    object and a missing file alike; :class:`TooLarge` (without reading) above ``max_size``.
    """
    if not is_s3(path):
        st = os.stat(path)
        if max_size is not None and st.st_size > max_size:
            raise TooLarge(st.st_size, max_size)
        with open(path, "rb") as f:
            return Blob(f.read(), st.st_size, st.st_mtime_ns)
    bucket, key = split_s3(path)
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        resp = client().get_object(Bucket=bucket, Key=key)
        size = int(resp.get("ContentLength") or 0)
        if max_size is not None and size > max_size:
            resp["Body"].close()
            raise TooLarge(size, max_size)
        data = resp["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        raise OSError(f"S3 {code} for {path}") from exc
    except BotoCoreError as exc:
        raise OSError(f"S3 error for {path}: {exc}") from exc
    return Blob(data, len(data), mtime_ns(resp["LastModified"]))


def mtime_ns(when: Any) -> int:
    """An S3 ``LastModified`` datetime as integer nanoseconds (listing and GET agree)."""
    return int(round(when.timestamp())) * 1_000_000_000


def image_source(path: str) -> str | bytes:
    """What the image decoders should open: the path itself when local (decoders read only
    what they need), the object's bytes when remote."""
    return read(path).data if is_s3(path) else path


def local_path(path: str) -> Path | None:
    return None if is_s3(path) else Path(path)

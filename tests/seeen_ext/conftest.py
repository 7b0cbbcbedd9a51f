"""Shared fixtures for seeen_ext: small valid bundles written directly (docs/bundle.md). The real
S3-compatible server (SeaweedFS) for the session is in tests/conftest.py."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

# The SeaweedFS fixtures (s3_server, aws_env, free_ports) live in tests/conftest.py, shared with tests/pixplot;
# these names stay importable from here.
from tests.conftest import S3Server, free_ports, weed_binary  # noqa: F401

# ---------------------------------------------------------------------------- clients


def api_client(app: Any) -> Any:
    """A Flask test client that sends what the viewer sends with every request: the
    ``X-Requested-With`` header without which the server refuses writes as cross-site."""
    client = app.test_client()
    client.environ_base["HTTP_X_REQUESTED_WITH"] = "pixplot"
    return client


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



# The demo digits as a real bundle, shared by the evaluate and recognise tests.
import shutil as _shutil  # noqa: E402

from pixplot.demo import make_digits  # noqa: E402
from pixplot.pipeline import BuildOptions, build  # noqa: E402


def digits_bundle(base: Path, n: int = 300) -> tuple[Path, Path]:
    """A real bundle of the first ``n`` demo digits, every 5th held out; built once per session
    (the recognise tests share it). Returns (bundle, held-out images)."""
    root = base / f"digits-{n}"
    bundle, held = root / "bundle", root / "held"
    if (bundle / "data" / "manifest.json").is_file():
        return bundle, held
    images, meta = make_digits(root / "demo", limit=n)
    for p in sorted(images.rglob("*.png")):
        if int(p.stem.split("_")[1]) % 5 == 0:
            (held / p.parent.name).mkdir(parents=True, exist_ok=True)
            _shutil.move(p, held / p.parent.name / p.name)
    # t-SNE and clustering the embeddings: no UMAP, so no numba compilation in the test run.
    build(BuildOptions(images=str(images), out_dir=str(bundle), metadata=str(meta), layouts="tsne",
                       cluster_on="embedding", min_cluster_size=5, progress=False, workers=2))
    return bundle, held


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return digits_bundle(tmp_path_factory.getbasetemp())

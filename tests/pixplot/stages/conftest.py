"""Fixtures for driving one stage at a time: a resolved plan, a cache, an in-process executor,
and earlier stages' results made directly, without a whole build."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pixplot.cache import BuildCache
from pixplot.discover import Found, discover
from pixplot.executor import LocalExecutor
from pixplot.plan import BuildOptions, BuildPlan, resolve
from tests.conftest import synthetic_photo, write_collection


def make_plan(tmp_path: Path, images: Path | str = "unused", **kw) -> BuildPlan:
    return resolve(BuildOptions(images=str(images), out_dir=str(tmp_path / "out"), progress=False, **kw))


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """Three families of four images, a broken file and a byte-identical copy."""
    folder = tmp_path / "images"
    write_collection(folder, per_class=4)
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "warm" / "copy.jpg").write_bytes((folder / "warm" / "warm_000.jpg").read_bytes())
    return folder


@pytest.fixture
def files(images: Path) -> Found:
    return discover(str(images))


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[BuildCache]:
    c = BuildCache(tmp_path / "out" / ".pixplot-cache")
    yield c
    c.close()


@pytest.fixture
def executor() -> LocalExecutor:
    return LocalExecutor(1)  # runs every batch in this process


@pytest.fixture
def photo_items(tmp_path: Path) -> tuple[list[dict], dict[str, str]]:
    """Item records and source paths for six whole-image items (two per family)."""
    items, paths = [], {}
    for k in range(6):
        p = tmp_path / f"p{k}.jpg"
        synthetic_photo(k % 3, 500 + k).save(p)
        iid = f"{k:016x}"
        items.append({"id": iid, "source": p.name, "sha256": f"{k:064x}", "box": None, "landmarks": None})
        paths[iid] = str(p)
    return items, paths


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """60 unit vectors in three tight, well separated groups, and their group."""
    rng = np.random.default_rng(0)
    centres = np.eye(16, dtype=np.float32)[:3] * 5
    y = np.repeat(np.arange(3), 20)
    E = centres[y] + rng.normal(0, 0.1, (60, 16)).astype(np.float32)
    return E / np.linalg.norm(E, axis=1, keepdims=True), y


@pytest.fixture
def third_party_projector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A projector installed the way pip would (a dist-info with an entry point on sys.path):
    ``mirror`` flips the umap layout it requires and returns guides."""
    site = tmp_path / "site"
    (site / "mirror_proj-0.1.dist-info").mkdir(parents=True)
    (site / "mirror_proj-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: mirror-proj\n"
                                                                  "Version: 0.1\n")
    (site / "mirror_proj-0.1.dist-info" / "entry_points.txt").write_text(
        "[pixplot.projectors]\nmirror = mirror_proj:Mirror\n")
    (site / "mirror_proj.py").write_text(textwrap.dedent('''
        from pixplot.plugins import Layout, Projector

        class Mirror(Projector):
            name = "mirror"
            requires = ("umap",)
            uses_embeddings = False
            options = {"mirror_axis": {"type": int, "help": "mirror: 0 flips x, 1 flips y"}}

            def __init__(self, mirror_axis=0):
                self.mirror_axis = mirror_axis

            def project(self, X, *, context=None):
                P = context.layouts["umap"].copy()
                P[:, self.mirror_axis] *= -1
                return Layout(P, guides={"axes": {"x": "flipped"}})
    '''))
    monkeypatch.syspath_prepend(str(site))
    return "mirror"

"""Fixtures for the scale-out tests: a real Ray runtime on this machine, and one local reference
build that the Ray and S3 builds must equal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_collection

REPO = Path(__file__).resolve().parents[2]


def reference_options(images: str, out: Path, **kw: Any) -> Any:
    """The build options every equality test uses (only the input and executor differ)."""
    from pixplot.pipeline import BuildOptions

    kw.setdefault("workers", 2)
    return BuildOptions(images=images, out_dir=str(out), progress=False, min_cluster_size=5,
                        layouts="umap,grid", **kw)


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[Any]:
    """Ray started here with 2 CPUs on loopback; its workers can import the test modules."""
    import ray  # the `ray` extra, part of `all`
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *([old] if old else [])])
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")  # keep builtins.print, which numba compiles against
    try:
        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
                 logging_level="WARNING")
        yield ray
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="session")
def reference_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(images folder, bundle) of a local build of three image families."""
    from pixplot.pipeline import build

    tmp = tmp_path_factory.mktemp("reference")
    images = tmp / "images"
    write_collection(images, per_class=12)
    build(reference_options(str(images), tmp / "out"))
    return images, tmp / "out"

"""The ray executor against a real Ray runtime: the same bundle as a local build, and a worker
killed mid-embedding costs nothing but a retry."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from pixplot.embedders.classic import ClassicEmbedder
from pixplot.plugins import ItemImage
from pixplot.ray_executor import RayExecutor
from tests.pixplot.conftest import reference_options

pytestmark = pytest.mark.slow


class SlowEmbedder(ClassicEmbedder):
    """The classic embedder, slowed down, leaving a file named by its pid when a batch starts
    (so a test knows which worker to kill while it is busy)."""

    name: ClassVar[str] = "slow_classic"
    id_excludes: ClassVar[tuple[str, ...]] = ("batch_size", "pid_dir", "delay")

    def __init__(self, pid_dir: str = "", delay: float = 0.0, batch_size: int = 64):
        super().__init__(batch_size=batch_size)
        self.pid_dir = pid_dir
        self.delay = delay

    def embed(self, batch: list[ItemImage]) -> np.ndarray:
        if self.pid_dir:
            Path(self.pid_dir, f"{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(self.delay)
        return super().embed(batch)


@pytest.fixture
def slow_embedder_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register SlowEmbedder through an entry point, as a third-party package would."""
    dist = tmp_path / "site" / "pixplot_slow_test-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pixplot-slow-test\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(
        "[pixplot.embedders]\nslow_classic = tests.pixplot.test_ray_executor:SlowEmbedder\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))


def _bundle_facts(out: Path) -> dict:
    data = out / "data"
    return {
        "items": json.loads((data / "items.json").read_text())["items"],
        "embeddings": np.load(data / "embeddings.npy"),
        "umap": (data / "layouts" / "umap.f32").read_bytes(),
        "grid": (data / "layouts" / "grid.f32").read_bytes(),
        "clusters": json.loads((data / "clusters" / "hdbscan.json").read_text())["clusters"],
        "atlases": sorted(p.name for p in (data / "atlases").iterdir()),
    }


def test_ray_build_equals_local_build(ray_runtime, reference_build, tmp_path):
    from pixplot.pipeline import build

    images, local_out = reference_build
    res = build(reference_options(str(images), tmp_path / "ray", executor="ray"))
    assert res.items == 36 and res.embedded == 36
    local, ray = _bundle_facts(local_out), _bundle_facts(tmp_path / "ray")
    assert ray["items"] == local["items"]
    np.testing.assert_array_equal(ray["embeddings"], local["embeddings"])
    assert ray["umap"] == local["umap"] and ray["grid"] == local["grid"]
    assert ray["clusters"] == local["clusters"] and len(ray["clusters"]) >= 3
    assert ray["atlases"] == local["atlases"]
    manifest = json.loads((tmp_path / "ray" / "data" / "manifest.json").read_text())
    assert manifest["options"]["executor"] == "ray"


def test_executor_yields_every_task_once_on_at_most_one_process_per_cpu(ray_runtime):
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[_pid_and_square.__module__])  # pytest's module name
    ex = RayExecutor()
    got = list(ex.map_unordered(_pid_and_square, [(k,) for k in range(12)]))
    assert sorted(k for k, _, _ in got) == list(range(12))
    assert all(sq == k * k for k, sq, _ in got)
    assert 1 <= len({pid for _, _, pid in got}) <= 2  # two CPUs: at most two worker processes
    assert ex.workers == 2
    ex.close()
    assert ray_runtime.is_initialized()  # a runtime it did not start is left running


def _pid_and_square(k: int) -> tuple[int, int, int]:
    return k, k * k, os.getpid()


def test_worker_killed_during_embedding_is_retried_and_every_item_counts_once(
        ray_runtime, reference_build, slow_embedder_installed, tmp_path):
    from pixplot.pipeline import build

    images, local_out = reference_build
    pids = tmp_path / "pids"
    pids.mkdir()
    opts = reference_options(str(images), tmp_path / "out", executor="ray", embedder="slow_classic",
                             batch_size=6, plugin_options={"pid_dir": str(pids), "delay": 1.5})
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = build(opts)
        except BaseException as exc:  # surfaced by the assertion below
            outcome["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 120
    victim = None
    while victim is None and time.monotonic() < deadline and t.is_alive():
        started = sorted(pids.iterdir())
        if started:
            victim = int(started[0].name.split("-")[0])
        time.sleep(0.02)
    assert victim is not None, "no embedding batch started"
    os.kill(victim, signal.SIGKILL)  # mid-batch: the batch sleeps 1.5 s after announcing itself
    t.join(timeout=240)
    assert not t.is_alive() and "error" not in outcome, outcome.get("error")
    res = outcome["result"]
    batches = -(-36 // 6)
    starts = [p.name.split("-")[0] for p in pids.iterdir()]
    assert len(starts) > batches  # the killed batch ran again...
    assert len(set(starts)) >= 2 and str(victim) in starts  # ...on another worker
    facts, local = _bundle_facts(tmp_path / "out"), _bundle_facts(local_out)
    ids = [it["id"] for it in facts["items"]]
    assert res.items == len(ids) == len(set(ids)) == 36
    assert ids == [it["id"] for it in local["items"]]
    np.testing.assert_array_equal(facts["embeddings"], local["embeddings"])


def test_the_address_follows_rays_convention(monkeypatch):
    from pixplot.ray_executor import resolve_address

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert resolve_address(None) == ("local", "default")
    assert resolve_address("10.0.0.1:6379") == ("10.0.0.1:6379", "--ray-address")
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.2:6379")
    assert resolve_address(None) == ("10.0.0.2:6379", "RAY_ADDRESS")
    assert resolve_address("auto") == ("auto", "--ray-address")  # a flag given beats the environment


def test_no_address_and_no_cluster_starts_a_local_instance_and_says_so():
    """`--executor ray` on a laptop: no `ray start`, no RAY_ADDRESS, no --ray-address."""
    import subprocess

    code = ("from pixplot.ray_executor import RayExecutor\n"
            "def power(a, b):\n    return a ** b\n"
            "ex = RayExecutor(workers=1)\n"
            "print(list(ex.map_unordered(power, [(2, 5)])))\n"
            "ex.close()\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_TQDM_PATCH_PRINT="0")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[32]" in r.stdout
    assert "pixplot: ray: started a local Ray instance" in r.stderr


def test_ray_address_in_the_environment_joins_that_cluster_and_says_so(ray_runtime):
    import subprocess

    address = ray_runtime.get_runtime_context().gcs_address
    code = ("from pixplot.ray_executor import RayExecutor\n"
            "def power(a, b):\n    return a ** b\n"
            "ex = RayExecutor(workers=1)\n"
            "print(list(ex.map_unordered(power, [(3, 3)])))\n"
            "ex.close()\n")
    env = dict(os.environ, RAY_ADDRESS=address, RAY_USAGE_STATS_ENABLED="0", RAY_TQDM_PATCH_PRINT="0")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[27]" in r.stdout
    assert f"pixplot: ray: connected to the Ray cluster at {address} (RAY_ADDRESS; 2 CPUs)" in r.stderr

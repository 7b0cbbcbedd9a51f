"""The ``ray`` executor: the same per-item stage functions, run as Ray tasks on a cluster.

Each task (one batch of items) is one Ray task; a bounded number are in flight and the driver
takes results as they finish, so it commits each one to the build cache exactly as a local
build does, and memory stays flat. Ray retries a task whose worker died (``max_retries``), and
a task's result reaches the driver once, so every batch counts once. Workers read images
themselves (a shared path or S3) and write previews and atlases into the bundle folder, which
must therefore be on a path every node shares.

Models load once per worker process: the plugins keep loaded models in module globals,
and Ray reuses its worker processes from task to task.

Why tasks and not Ray Data's ``map_batches``: the batches are already made by the driver and
each result is committed on arrival, so Ray Data's streaming executor adds only its overhead.
On this project's 2-core benchmark machine ``map_batches`` embedded 168 images/s against 390
for plain tasks and 220-330 for the local pool (benchmarks/bench_scale.py, docs/scale.md).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pixplot.errors import UserError

#: Stage functions whose tasks ask for ``num_gpus`` GPUs each (the embedders' models).
GPU_STAGES = ("embed_batch",)


def resolve_address(address: str | None) -> tuple[str, str]:
    """(the address to give ``ray.init``, where it came from), following Ray's convention: an
    address given wins, then ``RAY_ADDRESS``; with neither, a local instance just for this build."""
    if address:
        return address, "--ray-address"
    env = os.environ.get("RAY_ADDRESS", "").strip()
    if env:
        return env, "RAY_ADDRESS"
    return "local", "default"


class RayExecutor:
    """``map_unordered`` on a Ray cluster (see the module docstring)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, num_gpus: float = 0.0,
                 env: dict[str, str] | None = None, max_retries: int = 3):
        self.max_workers = workers
        self.address = address
        self.num_gpus = float(num_gpus or 0)
        self.env = dict(env or {})
        self.max_retries = max_retries  # per task, for workers that die (not for exceptions)
        self._started = False
        self._workers: int | None = None

    def _connect(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise UserError("--executor ray needs Ray: pip install 'seeen-pixplot[ray]'") from exc
        # Ray replaces builtins.print in the driver when a worker's message arrives (a died worker
        # sends one); numba cannot compile code that prints after that (UMAP on the driver).
        os.environ.setdefault("RAY_TQDM_PATCH_PRINT", "0")
        if not ray.is_initialized():
            address, named_by = resolve_address(self.address)
            try:
                if address == "local":
                    ray.init(address="local", include_dashboard=False, log_to_driver=False,
                             logging_level=logging.WARNING)
                else:
                    ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            except ConnectionError as exc:
                raise UserError(f"{named_by} {address}: no Ray cluster there ({exc}); start one with "
                                "`ray start --head`, or leave the address out (and RAY_ADDRESS unset) for a "
                                "local one") from exc
            self._started = True
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if address == "local":
                said = (f"started a local Ray instance ({cpus} CPUs; it stops when the build ends). "
                        "Give --ray-address or set RAY_ADDRESS to use a cluster.")
            else:
                said = f"connected to the Ray cluster at {address} ({named_by}; {cpus} CPUs)."
            print(f"pixplot: ray: {said}", file=sys.stderr, flush=True)
        return ray

    @property
    def workers(self) -> int:
        """CPUs the cluster offers (capped by ``--workers``): the driver sizes its batches by it."""
        if self._workers is None:
            ray = self._connect()
            cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
            self._workers = min(cpus, self.max_workers) if self.max_workers else cpus
        return self._workers

    def map_unordered(self, fn: Callable[..., Any], tasks: Iterable[tuple], in_process: bool = False,
                      ) -> Iterator[Any]:
        """Yield ``fn(*task)`` once for every task, in completion order.

        ``in_process`` (a model that parallelises itself) is ignored: on a cluster each
        worker is its own machine's share, which is the point.
        """
        tasks = list(tasks)
        if not tasks:
            return
        ray = self._connect()
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": self.max_retries,
                                   "name": getattr(fn, "__name__", "stage")}
        if self.num_gpus and options["name"] in GPU_STAGES:
            options["num_gpus"] = self.num_gpus
        if self.env:
            options["runtime_env"] = {"env_vars": self.env}
        remote = ray.remote(fn).options(**options)
        # --workers caps the tasks at once; otherwise two per CPU keep every CPU busy, no more.
        limit = self.max_workers or max(2, self.workers * 2)
        it = iter(tasks)
        pending: set[Any] = set()
        try:
            for t in it:
                pending.add(remote.remote(*t))
                if len(pending) >= limit:
                    break
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    pending.discard(ref)
                    yield ray.get(ref)
                for t in it:
                    pending.add(remote.remote(*t))
                    if len(pending) >= limit:
                        break
        finally:  # the driver stopped early (an error, Ctrl-C): stop what it will never read
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

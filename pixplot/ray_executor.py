"""The ``ray`` executor: the same per-item stage functions, mapped with Ray Data on a cluster.

Each task (one batch of items) becomes one row of a Ray Dataset, pickled; ``map_batches``
runs the stage function on a worker and the driver streams the results back as tasks finish,
so it commits each one to the build cache exactly as a local build does. Ray retries a task
whose worker died; the driver drops any second copy of a task's result, so every batch
counts once. Workers read images themselves (a shared path or S3) and write previews and
atlases into the bundle folder, which must therefore be on a path every node shares.

Models load once per worker process: the plugins keep loaded models in module globals,
and Ray reuses its worker processes from task to task.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pixplot.errors import UserError

#: Stage functions whose tasks ask for ``num_gpus`` GPUs each (the embedders' models).
GPU_STAGES = ("embed_batch",)
#: At most this many Ray Data blocks per stage; beyond it several tasks share a block.
MAX_BLOCKS = 20_000


def _runner(fn: Callable[..., Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``map_batches`` function that runs ``fn`` on each pickled task of a batch. It carries
    ``fn``'s name, so Ray's dashboard and process titles say which stage is running."""

    def run(batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np
        from ray import cloudpickle

        results = [cloudpickle.dumps(fn(*cloudpickle.loads(t))) for t in batch["task"]]
        out = np.empty(len(results), dtype=object)
        out[:] = results
        return {"k": np.asarray(batch["k"], dtype=np.int64), "result": out}

    run.__name__ = run.__qualname__ = getattr(fn, "__name__", "stage")
    return run


class RayExecutor:
    """``map_unordered`` on a Ray cluster (see the module docstring)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = "auto", num_gpus: float = 0.0,
                 env: dict[str, str] | None = None, max_retries: int = 3):
        self.max_workers = workers
        self.address = address
        self.num_gpus = float(num_gpus or 0)
        self.env = dict(env or {})
        self.max_retries = max_retries
        self._started = False
        self._workers: int | None = None

    def _connect(self) -> Any:
        try:
            import ray
            import ray.data  # noqa: F401  (the extra's other half)
        except ImportError as exc:
            raise UserError("--executor ray needs Ray: pip install 'seeen-pixplot[ray]'") from exc
        if not ray.is_initialized():
            address = None if self.address in (None, "", "local") else self.address
            try:
                ray.init(address=address, include_dashboard=False if address is None else None,
                         log_to_driver=False, logging_level=logging.WARNING)
            except ConnectionError as exc:
                raise UserError(f"--ray-address {self.address}: no Ray cluster there ({exc}); start one with "
                                "`ray start --head`, or use --ray-address local for a throwaway one") from exc
            self._started = True
        _quiet_ray_data()
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
        from ray import cloudpickle  # Ray's own pickler, so what it can pickle, this can
        rows = [{"k": k, "task": cloudpickle.dumps(t)} for k, t in enumerate(tasks)]
        ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), MAX_BLOCKS))
        del rows
        remote: dict[str, Any] = {"max_retries": self.max_retries, "num_cpus": 1}
        if self.num_gpus and getattr(fn, "__name__", "") in GPU_STAGES:
            remote["num_gpus"] = self.num_gpus
        if self.env:
            remote["runtime_env"] = {"env_vars": self.env}
        if self.max_workers:
            remote["concurrency"] = self.max_workers
        ds = ds.map_batches(_runner(fn), batch_size=1, batch_format="numpy", zero_copy_batch=True, **remote)
        seen: set[int] = set()
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=2):
            for k, blob in zip(batch["k"], batch["result"], strict=True):
                k = int(k)
                if k in seen:  # a retried task whose first copy already arrived
                    continue
                seen.add(k)
                yield cloudpickle.loads(blob)
        missing = len(tasks) - len(seen)
        if missing:
            raise RuntimeError(f"Ray returned {len(seen)} of {len(tasks)} task results")

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def _quiet_ray_data() -> None:
    """The build prints its own progress; Ray Data's bars and per-dataset banners are noise."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.verbose_stats_logs = False
    for name in ("ray.data", "ray.data._internal.execution.streaming_executor"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")

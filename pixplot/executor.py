"""Executors map the per-item stage functions (pixplot.work) over batches.

``local`` (the default) uses a process pool on this machine's cores and needs nothing
beyond the package. Results come back unordered, as batches finish, so the driver can
commit each one to the cache at once; a bounded number of batches is in flight, so memory
stays flat however large the collection.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: TensorFlow, numba and BLAS threads do not survive fork safely.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"))
        return self._pool

    def map_unordered(self, fn: Callable[..., Any], tasks: Iterable[tuple], in_process: bool = False,
                      ) -> Iterator[Any]:
        """Yield ``fn(*task)`` for every task, in completion order."""
        tasks = list(tasks)
        if in_process or self.workers <= 1 or len(tasks) <= 1:
            for t in tasks:
                yield fn(*t)
            return
        pool = self._get_pool()
        pending: set[Future] = set()
        it = iter(tasks)
        limit = self.workers * 2
        for t in it:
            pending.add(pool.submit(fn, *t))
            if len(pending) >= limit:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
            for t in it:
                pending.add(pool.submit(fn, *t))
                if len(pending) >= limit:
                    break

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def make_executor(name: str = "local", workers: int | None = None, **kwargs: Any) -> Any:
    """``local`` (a process pool here) or ``ray`` (Ray Data on a cluster; ``kwargs`` are its
    address, num_gpus and env, see pixplot.ray_executor)."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        from pixplot.ray_executor import RayExecutor

        return RayExecutor(workers, **kwargs)
    from pixplot.errors import UserError

    raise UserError(f"unknown --executor {name!r}; available: local, ray")

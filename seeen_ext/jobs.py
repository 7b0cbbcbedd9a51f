"""Background jobs for the server: run a function on a thread, report its progress, keep its result.

A server that runs for weeks must not keep every job it ever ran: the runner holds at most
``max_jobs``; when full, the oldest *finished* jobs are dropped first (a running job is never
dropped; if every slot is running, :meth:`JobRunner.start` refuses with :class:`JobsBusy`).
The result of a finished job stays readable (``GET /api/jobs/<id>/result``) until it is evicted.
Nothing here knows HTTP: the routes are in :mod:`seeen_ext.routes.uploads`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pixplot.errors import UserError

#: Jobs kept (running plus finished) by default.
MAX_JOBS = 64

#: ``progress(done, total)``, called by a job as it goes.
Progress = Callable[[int, int], None]


class JobsBusy(Exception):
    """Every slot holds a running job."""


@dataclass
class Job:
    """One background job, as ``GET /api/jobs/<id>`` reports it."""

    id: str
    kind: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict[str, Any] | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None

    def public(self) -> dict[str, Any]:
        return {"state": self.state, "done": self.done, "total": self.total, "error": self.error}


class JobRunner:
    """Runs jobs on daemon threads and remembers the latest ``max_jobs`` of them."""

    def __init__(self, max_jobs: int = MAX_JOBS) -> None:
        if max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")
        self.max_jobs = max_jobs
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._jobs)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, kind: str, work: Callable[[Progress], dict[str, Any]]) -> Job:
        """Run ``work(progress)`` in the background; its return value becomes the job's result.
        A :class:`UserError` fails the job with its message; any other exception with its type and
        message (a job always ends)."""
        job = Job(id=uuid.uuid4().hex, kind=kind)
        with self._lock:
            self._make_room()
            self._jobs[job.id] = job

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        def run() -> None:
            result, error = None, None
            try:
                result = work(progress)
            except UserError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - the message goes to the client
                error = f"{type(exc).__name__}: {exc}"
            job.result, job.error, job.finished = result, error, time.time()
            job.state = "failed" if error is not None else "done"  # last: readers poll it

        threading.Thread(target=run, name=f"{kind}-{job.id[:8]}", daemon=True).start()
        return job

    def _make_room(self) -> None:
        """Drop the oldest finished jobs until one slot is free (the caller holds the lock)."""
        while len(self._jobs) >= self.max_jobs:
            ended = [j for j in self._jobs.values() if j.finished is not None]
            if not ended:
                raise JobsBusy(f"{len(self._jobs)} jobs are running; wait for one to finish")
            del self._jobs[min(ended, key=lambda j: j.finished or 0.0).id]

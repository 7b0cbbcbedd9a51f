"""The server's job runner: results kept, finished jobs evicted oldest first, running ones never."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pixplot.errors import UserError
from seeen_ext.jobs import JobRunner, JobsBusy


def _wait(runner: JobRunner, job_id: str) -> Any:
    deadline = time.monotonic() + 10
    while (job := runner.get(job_id)) is not None and job.state == "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    return job


def test_a_job_reports_progress_and_keeps_its_result() -> None:
    runner = JobRunner()

    def work(progress: Any) -> dict[str, Any]:
        progress(3, 3)
        return {"answer": 42}

    job = _wait(runner, runner.start("test", work).id)
    assert job.public() == {"state": "done", "done": 3, "total": 3, "error": None}
    assert job.result == {"answer": 42} and job.finished is not None


def test_a_failing_job_ends_failed_with_a_one_line_message() -> None:
    runner = JobRunner()

    def user(progress: Any) -> dict[str, Any]:
        raise UserError("the bucket is gone")

    def bug(progress: Any) -> dict[str, Any]:
        raise KeyError("x")

    assert _wait(runner, runner.start("t", user).id).error == "the bucket is gone"
    failed = _wait(runner, runner.start("t", bug).id)
    assert failed.state == "failed" and failed.error == "KeyError: 'x'" and failed.result is None


def test_oldest_finished_jobs_are_evicted_and_running_ones_kept() -> None:
    runner = JobRunner(max_jobs=3)
    gate = threading.Event()
    running = runner.start("slow", lambda progress: (gate.wait(10), {})[1])
    first = _wait(runner, runner.start("quick", lambda progress: {"n": 1}).id)
    second = _wait(runner, runner.start("quick", lambda progress: {"n": 2}).id)
    third = _wait(runner, runner.start("quick", lambda progress: {"n": 3}).id)
    assert len(runner) == 3
    assert runner.get(first.id) is None  # the oldest finished one made room
    assert runner.get(running.id) is running and runner.get(second.id) is second and runner.get(third.id) is third
    gate.set()
    _wait(runner, running.id)


def test_a_runner_full_of_running_jobs_refuses_a_new_one() -> None:
    runner = JobRunner(max_jobs=2)
    gate = threading.Event()
    for _ in range(2):
        runner.start("slow", lambda progress: (gate.wait(10), {})[1])
    with pytest.raises(JobsBusy):
        runner.start("slow", lambda progress: {})
    gate.set()

"""Real Celery workers on the test Redis: started as processes, killed for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from tasks.app import configure
from worker.config import Settings

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60.0


class WorkerProcess:
    """`celery -A tasks worker` in its own process group, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, concurrency: int):
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool=prefork",
                 f"--concurrency={concurrency}", "--loglevel=INFO", "--without-gossip",
                 "--without-mingle", "--without-heartbeat"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "ready." not in log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"celery worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole group: the main process and every pool child, no cleanup."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def distributed(redis_url: str, tmp_path: Path) -> Iterator[dict[str, object]]:
    """Settings, env and a producer app for one isolated deployment on the test Redis."""
    namespace = "t" + uuid.uuid4().hex[:10]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")},
        "WIREWATCH_REDIS_URL": redis_url,
        "WIREWATCH_REDIS_NAMESPACE": namespace,
        "WIREWATCH_TASK_VISIBILITY_TIMEOUT_S": "5",  # a killed worker's tasks return quickly
        "PYTHONPATH": str(ROOT),
    }
    settings = Settings.from_env(env)
    app = Celery("wirewatch-test")
    configure(app, settings)
    yield {"settings": settings, "env": env, "app": app, "namespace": namespace}
    app.close()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{namespace}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def start_worker(
    distributed: dict[str, object], tmp_path: Path
) -> Iterator[Callable[[int], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(concurrency: int = 2) -> WorkerProcess:
        env = distributed["env"]
        assert isinstance(env, dict)
        w = WorkerProcess(env, tmp_path / f"worker{len(started)}.log", concurrency)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()

"""A real uvicorn server on 127.0.0.1 (a free port, in a thread) and an httpx client for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from worker.api import create_app
from worker.config import Settings

TOKEN = "test-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A running server: its base URL, a client, and the app (for its state)."""

    def __init__(self, app: Any, port: int):
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Factory: `serve(api_token=..., api_open_reads=..., enqueue=...)` or `serve(app=...)`
    starts a server."""
    started: list[tuple[uvicorn.Server, threading.Thread, Served]] = []

    def start(*, enqueue: Any = None, app: Any = None, **overrides: Any) -> Served:
        if app is None:  # an app given is served as it is (distributed mode's, say)
            values: dict[str, Any] = {"db_path": str(tmp_path / "api.db"), "api_token": TOKEN}
            values.update(overrides)
            app = create_app(Settings(**values), enqueue=enqueue)
        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        served = Served(app, port)
        started.append((server, thread, served))
        return served

    yield start
    for server, thread, served in started:
        served.client.close()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def api(serve: Callable[..., Served]) -> Served:
    """An embedded-mode server with a token and closed reads."""
    return serve()

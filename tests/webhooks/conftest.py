"""A real HTTP receiver on 127.0.0.1 (stdlib, in a thread) and both stores, for webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.conftest import SEEDS
from worker import Document, Pipeline, Settings
from worker.store.base import Store

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example


@dataclass
class Received:
    """One request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    path: str = "/"

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str = SECRET) -> dict:
        """The payload, once `standardwebhooks` has checked the signature and timestamp."""
        return Webhook(secret).verify(self.body, self.headers)


# answer(request, how many requests with this webhook-id came before) -> (status, headers)
Answer = Callable[[Received, int], "tuple[int, dict[str, str]]"]


@dataclass
class Receiver:
    """Records every POST; answers what `answer` says, after `delay_s`."""

    answer: Answer = field(default=lambda r, seen: (200, {}))
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self, port: int = 0) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                req = Received({k.lower(): v for k, v in self.headers.items()}, body, 0, self.path)
                seen = sum(r.webhook_id == req.webhook_id for r in receiver.requests)
                status, headers = receiver.answer(req, seen)
                req.status = status
                receiver.requests.append(req)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (slow-receiver test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self, *, status: int | None = 200) -> list[str]:
        """webhook-ids of the requests answered `status` (None: all), in arrival order."""
        return [r.webhook_id for r in self.requests if status is None or r.status == status]


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(answer: Answer | None = None, *, delay_s: float = 0.0, port: int = 0) -> Receiver:
        r = Receiver(delay_s=delay_s)
        if answer is not None:
            r.answer = answer
        started.append(r.start(port))
        return r

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def hook_settings(tmp_path: Path) -> Settings:
    """Loopback allowed (the receiver), a short exact schedule, a short timeout."""
    return Settings(
        db_path=str(tmp_path / "hooks.db"),
        allow_private_networks="127.0.0.0/8",
        webhook_retry_schedule_s="10,20,30",
        webhook_retry_jitter=0.0,
        webhook_timeout_s=2.0,
    )


@pytest.fixture(params=["sqlite", "redis"])
def backend(request, hook_settings, make_redis_store) -> Iterator[tuple[Pipeline, Store]]:
    """A pipeline and its store, on each backend."""
    pipeline = Pipeline(hook_settings)
    if request.param == "sqlite":
        store = pipeline.open_store()
    else:
        store = make_redis_store(index_signature=pipeline.index_signature)
    yield pipeline, store
    if request.param == "sqlite":
        store.close()


@pytest.fixture
def reopen(backend, make_redis_store) -> Iterator[Callable[[], Store]]:
    """Opens another store on the same data, as a restarted or second process would."""
    pipeline, store = backend
    opened: list[Store] = []

    def open_again() -> Store:
        if hasattr(store, "db"):  # SQLite: the same file
            again = Pipeline(pipeline.settings).open_store()
            opened.append(again)
            return again
        return make_redis_store(index_signature=pipeline.index_signature)

    yield open_again
    for s in opened:
        s.close()


@pytest.fixture
def seed_docs() -> list[Document]:
    return [Document(p.name, p.read_text(encoding="utf-8"), "text") for p in SEEDS]


def event_bodies(store: Store) -> dict[str, bytes]:
    """Every stored event's exact body as delivered: the stored JSON document."""
    return {e["id"]: json.dumps(e, sort_keys=True).encode() for e in store.list_events()}

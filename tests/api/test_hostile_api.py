"""The API under hostile input: deep JSON refused with a reason, ingests off the event loop
(bounded), and a huge request head answered 431 instead of a reset connection."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.api.conftest import TOKEN, _free_port
from tests.conftest import SEEDS
from worker.api import create_app
from worker.api.ingest_pool import IngestPool
from worker.api.server import MAX_HEAD_BYTES, config
from worker.config import Settings
from worker.errors import TransientError
from worker.metrics import Metrics

DEEP = 100_000
GENEROUS_S = 5.0


def test_deep_json_rejected_with_a_reason_and_the_next_article_ingested(api):
    # Given JSON bodies 100,000 levels deep (arrays, objects) and then a seed
    h = {**api.auth(), "Content-Type": "application/json"}
    arrays = ("[" * DEEP + "]" * DEEP).encode()
    objects = ('{"a":' * DEEP + "1" + "}" * DEEP).encode()
    # When they are pushed
    answers = [
        api.client.post("/v1/articles", content=body, headers=h) for body in (arrays, objects)
    ]
    seed = api.client.post(
        "/v1/articles", content=SEEDS[0].read_bytes(),
        headers={**api.auth(), "Content-Type": "text/plain"},
    )  # fmt: skip
    # Then each deep one is a 422 naming too_deep (not a 500), recorded, and the seed goes in
    for r in answers:
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "too_deep"
        assert r.json()["result"]["status"] == "rejected"
    assert seed.status_code == 201, seed.text
    rejections = api.client.get("/v1/rejections", headers=api.auth()).json()["rejections"]
    assert [r["reason"] for r in rejections] == ["too_deep", "too_deep"]


class _Receiver:
    """A webhook receiver that holds every POST until released."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.arrived.set()
                receiver.release.wait(30)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.close()


def _large_article() -> bytes:
    """~300 KB of wire prose: the seeds' paragraphs, each made unique."""
    paragraphs = [
        p for s in SEEDS for p in s.read_text(encoding="utf-8").split("\n") if len(p) > 80
    ]
    out = [f"{paragraphs[i % len(paragraphs)]} (Update {i}.)" for i in range(1200)]
    return ("Ceasefire talks in Istanbul\n\n" + "\n\n".join(out)).encode()


def test_healthz_and_reads_answer_while_a_large_ingest_runs(serve, receiver):
    # Given a webhook whose receiver holds each delivery, so the ingest request stays open
    api = serve(allow_private_networks="127.0.0.0/8")
    hook = api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=api.auth())
    assert hook.status_code == 201, hook.text
    answer: dict[str, httpx.Response] = {}

    def push() -> None:
        answer["r"] = api.client.post(
            "/v1/articles", content=_large_article(),
            headers={**api.auth(), "Content-Type": "text/plain"},
        )  # fmt: skip

    pushing = threading.Thread(target=push, daemon=True)
    pushing.start()
    # When the large article's ingest is running (its event is being delivered)
    assert receiver.arrived.wait(30), "the ingest never reached its webhook delivery"
    started = time.monotonic()
    health = api.client.get("/healthz")
    stories = api.client.get("/v1/stories", headers=api.auth())
    took = time.monotonic() - started
    # Then /healthz and reads answer at once, while the ingest request is still open
    assert health.status_code == 200 and stories.status_code == 200
    assert took < GENEROUS_S, f"{took:.1f}s"
    assert pushing.is_alive() and "r" not in answer
    receiver.release.set()
    pushing.join(30)
    assert answer["r"].status_code == 201, answer["r"].text
    assert [s["id"] for s in stories.json()["stories"]] == [answer["r"].json()["story_id"]]


def test_ingest_pool_bounds_running_and_waiting_ingests(tmp_path):
    # Given a pool of one thread and no waiting room, busy with a held job
    pool = IngestPool(Settings(db_path=str(tmp_path / "p.db")), Metrics(), concurrency=1, backlog=0)
    held, started = threading.Event(), threading.Event()

    def hold(worker: Any) -> str:
        started.set()
        held.wait(10)
        return "done"

    async def scenario() -> tuple[str, str, str]:
        first = asyncio.ensure_future(pool.run(hold))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        try:
            await pool.run(lambda w: "second")
            refused = "not refused"
        except TransientError as exc:
            refused = exc.reason
        held.set()
        done = await first
        again = await pool.run(lambda w: w.store.doc_count() == 0 and "again")
        return refused, done, again

    # When a second job comes while the first runs, Then it is refused (503) and later ones run
    try:
        assert asyncio.run(scenario()) == ("busy", "done", "again")
        assert pool.running == 0
    finally:
        pool.close()


@pytest.fixture
def head_limited(tmp_path: Path) -> Iterator[str]:
    """`wirewatch serve`'s server (worker.api.server.config) on a free port."""
    app = create_app(Settings(db_path=str(tmp_path / "api.db"), api_token=TOKEN))
    server = uvicorn.Server(config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def test_huge_request_header_gets_431_not_a_reset(head_limited):
    # Given the served API
    with httpx.Client(base_url=head_limited, timeout=30) as client:
        # When a request carries a 1 MB header (and another a header just under the limit)
        big = client.get("/healthz", headers={"X-Big": "a" * 1_000_000})
        near = client.get("/healthz", headers={"X-Near": "a" * (MAX_HEAD_BYTES - 1000)})
        post = client.post(
            "/v1/articles", headers={"X-Big": "b" * 1_000_000, "Content-Type": "text/plain"},
            content=SEEDS[0].read_bytes(),
        )  # fmt: skip
        after = client.get("/healthz")
    # Then the big ones are answered 431 in the API's error shape; the others as usual
    for r in (big, post):
        assert r.status_code == 431
        assert json.loads(r.content)["error"]["code"] == "header_too_large"
    assert near.status_code == 200 and after.status_code == 200

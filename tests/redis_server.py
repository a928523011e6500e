"""A real Redis for the tests: `WIREWATCH_TEST_REDIS_URL`, else a throwaway redis-server.

The throwaway server listens on a free port of 127.0.0.1, keeps nothing on disk and dies with
the session. Each test works in its own key namespace and deletes it afterwards, so a shared
server given by URL is left as it was found.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from worker.keys import Keys
from worker.store.redis_store import RedisStore

TEST_URL_ENV = "WIREWATCH_TEST_REDIS_URL"
START_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH: run scripts/setup.sh (it installs the Debian "
            f"package) or set {TEST_URL_ENV}=redis://host:port/15",
            pytrace=False,
        )
    for _ in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + START_TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                client.close()
                return proc, url
            except redis.ConnectionError:
                time.sleep(0.02)
        client.close()
        proc.kill()
        proc.wait()
    pytest.fail(f"redis-server did not answer PING within {START_TIMEOUT_S}s", pytrace=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Redis for this test session (session-scoped: read before clean_environ)."""
    given = os.environ.get(TEST_URL_ENV)
    if given:
        yield given
        return
    proc, url = _start_server(tmp_path_factory.mktemp("redis"))
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def drop_namespace(client: redis.Redis[bytes], namespace: str) -> None:
    """Delete every key of one namespace (SCAN, never FLUSHDB: the server may be shared)."""
    for key in client.scan_iter(match=Keys(namespace).prefix + "*", count=1000):
        client.unlink(key)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_redis_store(
    redis_url: str, redis_client: redis.Redis[bytes]
) -> Iterator[Callable[..., RedisStore]]:
    """Factory of RedisStores in a namespace of this test's own, deleted at teardown."""
    namespace = "t" + uuid.uuid4().hex[:12]
    opened: list[RedisStore] = []

    def make(**kwargs: Any) -> RedisStore:
        kwargs.setdefault("namespace", namespace)
        kwargs.setdefault("index_signature", "test-signature")
        client = kwargs.pop("client", None) or redis.Redis.from_url(redis_url)
        store = RedisStore(client, **kwargs)
        opened.append(store)
        return store

    make.namespace = namespace  # type: ignore[attr-defined]
    drop_namespace(redis_client, namespace)
    yield make
    for store in opened:
        store.close()
    drop_namespace(redis_client, namespace)

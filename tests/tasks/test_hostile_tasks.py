"""Hostile inputs on real Celery workers: a host that does not resolve is given up on after
one retry, with its reason; a bad document never fails the task or the next one."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import SEEDS
from worker import Pipeline
from worker.models import Document

NO_SUCH_HOST = "no-such-host.invalid"  # RFC 2606: never resolves


def _resolver_says_nxdomain() -> bool:
    try:
        socket.getaddrinfo(NO_SUCH_HOST, 80)
    except socket.gaierror as exc:
        return exc.errno == socket.EAI_NONAME
    return False


def test_url_task_gives_up_on_a_host_that_does_not_resolve(distributed, start_worker):
    if not _resolver_says_nxdomain():
        pytest.skip("this machine's resolver does not answer NXDOMAIN for .invalid")
    # Given a worker and a URL whose host does not exist
    start_worker(1)
    app = distributed["app"]
    # When its ingest is queued
    result = app.send_task("wirewatch.ingest.url", args=[f"http://{NO_SUCH_HOST}/story"])
    line = result.get(timeout=45)
    # Then it is rejected as host_not_found after at most one retry (not six attempts)
    assert line["status"] == "rejected"
    assert line["error"].startswith("host_not_found: gave up after 2 attempts"), line["error"]
    store = Pipeline(distributed["settings"]).open_store()
    try:
        reasons = [r["reason"] for r in store.list_rejections(limit=10)]
    finally:
        store.close()
    assert reasons == ["host_not_found"]


def test_document_tasks_reject_hostile_documents_and_go_on(distributed, start_worker):
    # Given a worker, a document over the article cap, HTML 100,000 levels deep, and a seed
    start_worker(1)
    app = distributed["app"]
    text = SEEDS[0].read_text(encoding="utf-8")
    docs = [
        Document("long.txt", "word " * 300_000, "text"),
        Document("deep.html", "<div>" * 100_000 + text + "</div>" * 100_000, "html"),
        Document("seed.txt", text, "text"),
    ]
    # When each is queued
    pending = [app.send_task("wirewatch.ingest.document", args=[d.to_dict()]) for d in docs]
    lines = [p.get(timeout=45) for p in pending]
    # Then the hostile ones are rejected with their reasons and the seed is ingested
    assert [x["status"] for x in lines] == ["rejected", "rejected", "new_story"], json.dumps(lines)
    assert lines[0]["error"].startswith("article_too_long")
    assert lines[1]["error"].startswith("no_article_text")

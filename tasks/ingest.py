"""Ingest tasks: a pushed document, or a URL to fetch first. Thin: the work is worker/."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from celery import Task

from tasks import resources
from tasks.app import app
from worker.errors import BadInput, IngestError, PermanentError, TransientError
from worker.fetch import fetch
from worker.models import Document, IngestResult
from worker.pages import page_document

__all__ = ["ingest_document", "ingest_url"]

logger = logging.getLogger(__name__)

BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 300.0
# A host the resolver says does not exist (NXDOMAIN) is retried this many times, not
# task_max_retries: a name just registered may take a moment, a typo never resolves. A
# resolver that cannot answer (EAI_AGAIN) is a transient failure like any other.
NOT_FOUND_RETRIES = 1
_NXDOMAIN = frozenset({socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)})


@app.task(name="wirewatch.ingest.document", bind=True, max_retries=None)
def ingest_document(self: Task, document: dict[str, Any]) -> dict[str, Any]:
    """Ingest one pushed document (`Document.to_dict()`); returns the `ingest --json` line."""
    try:
        doc = Document.from_dict(document)
    except TypeError as exc:
        origin = document.get("origin", "?") if isinstance(document, dict) else "?"
        return _rejected(str(origin), BadInput(str(exc), reason="bad_task_argument"))
    return _attempt(self, doc.origin, lambda now: _ingest(doc, now))


@app.task(name="wirewatch.ingest.url", bind=True, max_retries=None)
def ingest_url(self: Task, url: str, origin: str | None = None) -> dict[str, Any]:
    """Fetch a page (private addresses refused unless allowed) and ingest it."""
    settings = resources.pipeline().settings

    def work(now: float) -> IngestResult:
        page = fetch(url, settings=settings, client=resources.http_client())
        return _ingest(page_document(page, origin=origin or url), now)

    return _attempt(self, origin or url, work)


def _ingest(doc: Document, now: float) -> IngestResult:
    return resources.pipeline().ingest(doc, resources.store(), now=now)


def _attempt(task: Task, origin: str, work: Callable[[float], IngestResult]) -> dict[str, Any]:
    """Run `work`; retry transient failures with backoff, record permanent ones, never drop.

    A failure of ours (any other exception) is recorded as rejected with reason
    ``internal_error`` rather than failing the task: the input is never lost silently.
    """
    try:
        result = work(time.time())
    except PermanentError as exc:
        return _rejected(origin, exc)
    except TransientError as exc:
        retries, allowed = task.request.retries, resources.pipeline().settings.task_max_retries
        if _host_not_found(exc):
            exc = TransientError(
                f"the host does not resolve: {exc.message}", reason="host_not_found"
            )
            allowed = min(allowed, NOT_FOUND_RETRIES)
        if retries >= allowed:
            gave_up = TransientError(
                f"gave up after {retries + 1} attempts: {exc.message}", reason=exc.reason
            )
            return _rejected(origin, gave_up)
        delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**retries)
        logger.info("%s: %s; retry %d in %.0fs", origin, exc, retries + 1, delay)
        raise task.retry(exc=exc, countdown=delay) from exc
    except Exception as exc:
        logger.exception("%s: ingest failed", origin)
        message = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        return _rejected(origin, PermanentError(message, reason="internal_error"))
    for event in result.events:
        app.send_task("wirewatch.events.fan_out", args=[event["id"]])
    return result.to_dict()


def _host_not_found(exc: BaseException) -> bool:
    """Does the resolver say the host does not exist? (The fetch's connect error carries the
    resolver's `socket.gaierror` in its chain of causes.)"""
    seen: BaseException | None = exc
    for _ in range(10):  # a chain of causes is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, socket.gaierror) and seen.errno in _NXDOMAIN:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _rejected(origin: str, exc: IngestError) -> dict[str, Any]:
    """Record the rejection (retrying the record itself if the store is briefly away)."""
    return resources.pipeline().reject(origin, exc, resources.store(), now=time.time()).to_dict()

"""`wirewatch worker` and `wirewatch submit`: the distributed commands, added to the CLI.

They live here because `worker/` never imports Celery; the `wirewatch` console script is this
module's `main`, which is `worker.cli.main` with these two commands added.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
from celery.result import AsyncResult

from worker.cli import main, print_results
from worker.config import Settings
from worker.ingest import Pipeline
from worker.inputs import read_inputs
from worker.json_articles import JsonLimits
from worker.models import IngestResult

__all__ = ["main"]

INGEST_DOCUMENT = "wirewatch.ingest.document"


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not settings.redis_url:
        raise click.ClickException(
            "distributed mode needs WIREWATCH_REDIS_URL, e.g. redis://127.0.0.1:6379/0"
        )
    return settings


@main.command()
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: one per CPU].",
)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker for the ingest and event tasks (needs WIREWATCH_REDIS_URL).

    The same as `celery -A tasks worker`. Start as many as you like, on any machine that
    reaches the Redis: they share one story index, and match-or-create is atomic.

    Example:

        WIREWATCH_REDIS_URL=redis://127.0.0.1:6379/0 wirewatch worker --concurrency 2
    """
    settings = _settings()
    from tasks.app import app, queue_name

    argv = ["worker", f"--loglevel={loglevel}", f"--queues={queue_name(settings)}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    app.worker_main(argv)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option("--wait", is_flag=True, help="Wait for the results and print them like `ingest`.")
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=600.0,
    show_default=True,
    help="With --wait: seconds to wait for all the results.",
)
def submit(paths: tuple[str, ...], as_json: bool, wait: bool, timeout_s: float) -> None:
    """Queue text, HTML or JSON inputs for the workers (needs WIREWATCH_REDIS_URL).

    Without --wait, prints each input's task id. With --wait, prints what `ingest` prints
    (one JSON object per input, in input order, with --json) once the workers are done.
    Exit status as for `ingest`: 0 all accepted, 1 some rejected, 2 usage error.

    Example:

        wirewatch submit --wait --json seeds/
    """
    settings = _settings()
    from tasks.app import app

    pipeline = Pipeline(settings)
    store = None
    queued: list[tuple[str, AsyncResult | IngestResult]] = []
    for origin, doc in read_inputs(paths, stdin=sys.stdin.buffer,
                                   max_bytes=settings.max_input_bytes,
                                   limits=JsonLimits.from_settings(settings)):  # fmt: skip
        if isinstance(doc, Exception):  # unreadable: recorded now, never queued
            store = store or pipeline.open_store()
            queued.append((origin, pipeline.reject(origin, doc, store, now=time.time())))
        else:
            queued.append((origin, app.send_task(INGEST_DOCUMENT, args=[doc.to_dict()])))
    if store is not None:
        store.close()
    if not wait:
        for origin, item in queued:
            line: dict[str, Any] = (
                {"input": origin, "task_id": item.id}
                if isinstance(item, AsyncResult)
                else item.to_dict()
            )
            click.echo(json.dumps(line, ensure_ascii=False) if as_json else
                       f"{origin}\t{line.get('task_id') or line['status']}")  # fmt: skip
        sys.exit(1 if any(isinstance(i, IngestResult) for _, i in queued) else 0)
    deadline = time.monotonic() + timeout_s
    results = []
    for origin, item in queued:
        result = item if isinstance(item, IngestResult) else _outcome(origin, item, deadline)
        results.append(result)
        if as_json:
            click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    if not as_json:
        print_results(results)
    if any(r.status == "rejected" for r in results):
        sys.exit(1)


def _outcome(origin: str, pending: AsyncResult, deadline: float) -> IngestResult:
    """The task's IngestResult; a task that failed or timed out is reported, not hidden."""
    try:
        value = pending.get(timeout=max(0.1, deadline - time.monotonic()), propagate=False)
    except TimeoutError:
        raise click.ClickException(
            f"timed out waiting for {origin} (task {pending.id}); it stays queued"
        ) from None
    if pending.successful() and isinstance(value, dict):
        return IngestResult(**value)
    return IngestResult(origin, "rejected", error=f"task {pending.id} failed: {value!r}")


# -- HTTP API (issue 6): `wirewatch serve`; here because distributed mode queues through Celery
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the HTTP API (/v1), the dashboard (/) and /metrics with uvicorn.

    Writes need WIREWATCH_API_TOKEN (a bearer token); reads too unless
    WIREWATCH_API_OPEN_READS=1. With WIREWATCH_REDIS_URL, POST /v1/articles queues the
    article for the workers (202 with the task id); without, it is ingested at once.

    Example:

        WIREWATCH_API_TOKEN=s3cret WIREWATCH_API_OPEN_READS=1 wirewatch serve --port 8080
    """
    from worker.api import create_app
    from worker.api.server import run

    try:
        settings = Settings.from_env()
        if settings.redis_url:
            from tasks.api import create_distributed_app

            app = create_distributed_app(settings)
        else:
            app = create_app(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not settings.api_token:
        click.echo("WIREWATCH_API_TOKEN is not set: writes answer 503 until it is.", err=True)
    run(app, host=host, port=port)  # uvicorn; a request head over 64 KB gets 431

"""`wirewatch feeds ...`, `wirewatch poll` and `wirewatch watch`: the feed registry and polling.

Registered on the `wirewatch` group by worker/cli.py. Both stores work: SQLite by default,
Redis (shared with the Celery workers) when WIREWATCH_REDIS_URL is set.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.table import Table

from worker.cli import _db_option, _json_option, _opened, main, print_results
from worker.deliver import Deliverer
from worker.errors import BadInput
from worker.models import IngestResult
from worker.pipeline.opml import OpmlFeed, read_opml, write_opml
from worker.poller import Poller

__all__ = ["feeds", "parse_interval", "poll", "watch"]

_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_S = 60
_concurrency_option = click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Feeds polled at once (threads); per-host limits still apply "
    "[WIREWATCH_FETCH_HOST_CONCURRENCY, WIREWATCH_FETCH_HOST_INTERVAL_S].",
)


def parse_interval(text: str) -> int:
    """`"15m"`, `"1h30m"`, `"2d"`, `"900"` -> seconds."""
    text = text.strip().lower()
    parts = _DURATION.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 15m, 1h30m or 1d")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds < MIN_INTERVAL_S:
        raise click.BadParameter(f"the interval must be at least {MIN_INTERVAL_S}s")
    return seconds


def _checked_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="URL")
    return url.strip()


@main.group()
def feeds() -> None:
    """Register, list, import and export the feeds to poll.

    Example:

        wirewatch feeds add https://wire.example/world.rss --interval 15m
        wirewatch feeds list
    """


@feeds.command("add")
@click.argument("url")
@click.option("--interval", help="Poll this often (90s, 15m, 1h, 1d) instead of adaptively.")
@_db_option
def feeds_add(url: str, interval: str | None, db_path: str | None) -> None:
    """Register a feed (due at once); adding it again resumes it if suspended.

    Example:

        wirewatch feeds add https://wire.example/world.rss --interval 15m
    """
    url = _checked_url(url)
    interval_s = parse_interval(interval) if interval else None
    with _opened(db_path) as (_, store):
        registry = store.feeds()
        before = registry.get(url)
        registry.add(url, now=time.time(), interval_s=interval_s)
    if before is None:
        click.echo(f"added {url}")
    elif before.suspended:
        click.echo(f"resumed {url} (was suspended: {before.last_error})")
    else:
        click.echo(f"updated {url}")


@feeds.command("remove")
@click.argument("url")
@_db_option
def feeds_remove(url: str, db_path: str | None) -> None:
    """Stop polling a feed (entries already seen stay seen).

    Example:

        wirewatch feeds remove https://wire.example/world.rss
    """
    with _opened(db_path) as (_, store):
        if not store.feeds().remove(url):
            raise click.ClickException(f"no feed {url!r}; `wirewatch feeds list` shows them")
    click.echo(f"removed {url}")


@feeds.command("resume")
@click.argument("url")
@_db_option
def feeds_resume(url: str, db_path: str | None) -> None:
    """Lift a feed's suspension (after repeated failures); it is polled at the next round.

    Example:

        wirewatch feeds resume https://wire.example/world.rss
    """
    with _opened(db_path) as (_, store):
        if not store.feeds().resume(url, now=time.time()):
            raise click.ClickException(f"no feed {url!r}; `wirewatch feeds list` shows them")
    click.echo(f"resumed {url}")


@feeds.command("list")
@_json_option
@_db_option
def feeds_list(as_json: bool, db_path: str | None) -> None:
    """List feeds and their health: status, last success and error, failures, next poll.

    Status is `ok`, `new` (never polled), `failing` (the last poll failed) or `suspended`
    (WIREWATCH_FEED_MAX_FAILURES polls failed in a row; `feeds resume` lifts it).

    Example:

        wirewatch feeds list --json
    """
    with _opened(db_path) as (_, store):
        rows = store.feeds().list_feeds()
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in rows], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(rows)} feeds")
    for col in ("feed", "status", "last success", "failures", "last error", "next poll", "entries"):
        table.add_column(col, overflow="fold")
    for f in rows:
        table.add_row(
            f"{f.url}\n{f.title or ''}".strip(),
            f.status,
            _when(f.last_success_at),
            str(f.consecutive_failures),
            (f.last_error or "")[:120],
            "suspended" if f.suspended else _when(f.next_poll_at),
            str(f.entries_seen),
        )
    Console().print(table)


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_db_option
def feeds_import(path: str, db_path: str | None) -> None:
    """Register every feed of an OPML file (feed readers export one).

    Example:

        wirewatch feeds import subscriptions.opml
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        found = read_opml(data)
    except BadInput as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    with _opened(db_path) as (_, store):
        registry = store.feeds()
        new = sum(
            registry.add(f.url, now=time.time(), interval_s=f.interval_s, title=f.title)
            for f in found
        )
    click.echo(f"imported {len(found)} feeds from {path} ({new} new)")


@feeds.command("export")
@_db_option
def feeds_export(db_path: str | None) -> None:
    """Print the feeds as OPML (for a feed reader, or `feeds import` elsewhere).

    Example:

        wirewatch feeds export > subscriptions.opml
    """
    with _opened(db_path) as (_, store):
        rows = store.feeds().list_feeds()
    opml = [OpmlFeed(f.url, f.title, f.interval_s) for f in rows]
    click.echo(write_opml(opml, now=time.time()), nl=False)


@main.command()
@click.option("--once", is_flag=True, help="One round, then exit (without it: as `watch`).")
@click.option("--force", is_flag=True, help="Poll every feed not suspended, due or not.")
@_json_option
@_db_option
@_concurrency_option
def poll(once: bool, force: bool, as_json: bool, db_path: str | None, concurrency: int) -> None:
    """Poll the due feeds and ingest their new entries.

    Prints what `ingest` prints: with --json, one JSON object per new entry (and one
    `rejected` line per feed that could not be fetched or parsed). Exit status as for
    `ingest`: 0 all accepted, 1 some rejected, 2 usage error.

    Example:

        wirewatch poll --once --json
        wirewatch poll --once --force
    """
    if not once:
        _watch(as_json, db_path, concurrency, force=force)
        return
    with (
        _opened(db_path) as (pipeline, store),
        Deliverer(pipeline.settings, store.webhooks()) as deliverer,
    ):
        poller = Poller(pipeline, store, concurrency=concurrency)
        printer = _printer(as_json, live=False)
        seen, lock = {"results": 0, "rejected": 0}, threading.Lock()

        def on_result(result: IngestResult) -> None:  # from any poller thread
            with lock:
                seen["results"] += 1
                seen["rejected"] += result.status == "rejected"
            printer(result)

        try:  # with --json every result is printed as it comes: none is kept (memory)
            results = poller.run_once(force=force, on_result=on_result, keep=not as_json)
        finally:
            poller.close()
        deliverer.deliver_due(time.time())  # webhooks: the round's events, and retries due
    if not as_json and results:
        print_results(results)
    elif not seen["results"]:
        click.echo("no new entries", err=True)
    if seen["rejected"]:
        sys.exit(1)


@main.command()
@_json_option
@_db_option
@_concurrency_option
def watch(as_json: bool, db_path: str | None, concurrency: int) -> None:
    """Keep polling (embedded mode): poll the due feeds, sleep until the next is due, repeat.

    Prints each new entry as it is ingested (JSON lines with --json). Ctrl-C stops it
    cleanly. In distributed mode the Celery scheduler does this instead (`celery beat`).

    Example:

        wirewatch feeds add https://wire.example/world.rss
        wirewatch watch --json >> entries.jsonl
    """
    _watch(as_json, db_path, concurrency)


def _watch(as_json: bool, db_path: str | None, concurrency: int, *, force: bool = False) -> None:
    stop = threading.Event()
    with (
        _opened(db_path) as (pipeline, store),
        Deliverer(pipeline.settings, store.webhooks()) as deliverer,
    ):
        poller = Poller(pipeline, store, concurrency=concurrency)
        emit = _printer(as_json, live=True)
        click.echo("watching feeds; Ctrl-C stops", err=True)
        try:
            if force:
                poller.run_once(force=True, on_result=emit)
            # webhooks: each round's events, and the retries that came due, from this thread
            poller.watch(stop, on_result=emit, on_round=lambda: deliverer.deliver_due(time.time()))
        except KeyboardInterrupt:
            stop.set()
            click.echo("stopped", err=True)
        finally:
            poller.close()


def _printer(as_json: bool, *, live: bool) -> Callable[[IngestResult], None]:
    def emit(result: IngestResult) -> None:
        if as_json:
            click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        elif live:
            click.echo(
                f"{result.status}\t{result.story_id or '-'}\t{result.input}"
                + (f"\t{result.error}" if result.error else "")
            )

    return emit


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else "-"

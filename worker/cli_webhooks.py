"""`wirewatch webhooks ...` and `wirewatch deliver`: subscriptions, the delivery log, replays,
and working through due deliveries. Registered on the `wirewatch` group by worker/cli.py."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.table import Table

from worker.cli import _db_option, _json_option, _opened, main
from worker.deliver import Deliverer, Report
from worker.store.webhooks import WebhookStore
from worker.subscriptions import (
    EVENT_TYPES,
    generate_secret,
    new_endpoint,
    parse_duration,
    parse_time,
    replay,
)

__all__ = ["deliver", "webhooks"]


@contextmanager
def _hooks(db_path: str | None) -> Iterator[tuple[Deliverer, WebhookStore]]:
    with _opened(db_path) as (pipeline, store):
        hooks = store.webhooks()
        deliverer = Deliverer(pipeline.settings, hooks)
        try:
            yield deliverer, hooks
        finally:
            deliverer.close()


def _echo_report(report: Report, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({
            "delivered": report.delivered, "retrying": report.retrying, "failed": report.failed,
            "deferred": report.deferred, "disabled": report.disabled,
        }))  # fmt: skip
        return
    if report.attempted or report.deferred:
        click.echo(
            f"{report.delivered} delivered, {report.retrying} to retry, {report.failed} failed"
            + (f", {report.deferred} deferred" if report.deferred else "")
        )
    for endpoint_id, why in report.disabled.items():
        click.echo(f"endpoint {endpoint_id} disabled: {why}", err=True)


@main.group()
def webhooks() -> None:
    """Send events to subscribed URLs (Standard Webhooks: signed, retried, replayable).

    docs/webhooks.md says how to verify and deduplicate what arrives.

    Example:

        wirewatch webhooks add https://hooks.example.com/wirewatch --events story.new_development
        wirewatch webhooks deliveries --failed
    """


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--events",
    "event_types",
    default="",
    help=f"Comma-separated event types to send [default: all: {', '.join(EVENT_TYPES)}].",
)
@click.option("--secret", help="A whsec_... signing secret [default: a new random one].")
@_json_option
@_db_option
def add(url: str, event_types: str, secret: str | None, as_json: bool,
        db_path: str | None) -> None:  # fmt: skip
    """Subscribe URL to events; prints its id and its signing secret (shown only this once).

    Example:

        wirewatch webhooks add https://hooks.example.com/wirewatch
        wirewatch webhooks add https://hooks.example.com/dev --events story.new_development
    """
    with _hooks(db_path) as (deliverer, hooks):
        try:
            types = tuple(t.strip() for t in event_types.split(",") if t.strip())
            ep = new_endpoint(url, settings=deliverer.settings, now=time.time(), secret=secret,
                              event_types=types)  # fmt: skip
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        hooks.add_endpoint(ep)
    if as_json:
        click.echo(json.dumps(ep.to_dict(show_secret=True)))
        return
    click.echo(f"endpoint {ep.id} -> {ep.url} ({', '.join(ep.event_types) or 'all events'})")
    click.echo(f"secret: {ep.secret}")
    click.echo("Keep the secret: it is not shown again. Verify deliveries with it "
               "(docs/webhooks.md).", err=True)  # fmt: skip


@webhooks.command("list")
@_json_option
@_db_option
def list_(as_json: bool, db_path: str | None) -> None:
    """List endpoints: URL, event types, and whether each is enabled or why it is not.

    Example:

        wirewatch webhooks list --json
    """
    with _hooks(db_path) as (_, hooks):
        endpoints = hooks.endpoints()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in endpoints], ensure_ascii=False, indent=2))
        return
    table = Table(title="webhook endpoints")
    for col in ("endpoint", "url", "events", "state", "since"):
        table.add_column(col, overflow="fold")
    for e in endpoints:
        state = "enabled" if e.enabled else f"disabled: {e.disabled_reason}"
        if e.enabled and e.failing_since:
            state = f"failing since {_when(e.failing_since)}"
        table.add_row(e.id, e.url, ", ".join(e.event_types) or "all", state, _when(e.created_at))
    Console().print(table)


@webhooks.command("remove")
@click.argument("endpoint_id")
@_db_option
def remove(endpoint_id: str, db_path: str | None) -> None:
    """Unsubscribe an endpoint; its pending deliveries fail (the log keeps them).

    Example:

        wirewatch webhooks remove ep_0123456789ab
    """
    with _hooks(db_path) as (_, hooks):
        if not hooks.remove_endpoint(endpoint_id, at=time.time()):
            raise click.ClickException(f"no endpoint {endpoint_id!r}")
    click.echo(f"removed {endpoint_id}")


@webhooks.command("enable")
@click.argument("endpoint_id")
@_db_option
def enable(endpoint_id: str, db_path: str | None) -> None:
    """Enable an endpoint again (after a 410 or days of failures); replay what it missed.

    Example:

        wirewatch webhooks enable ep_0123456789ab
        wirewatch webhooks replay --since 2d --endpoint ep_0123456789ab
    """
    with _hooks(db_path) as (_, hooks):
        if not hooks.set_enabled(endpoint_id, True, at=time.time()):
            raise click.ClickException(f"no endpoint {endpoint_id!r}")
    click.echo(f"enabled {endpoint_id}")


@webhooks.command("disable")
@click.argument("endpoint_id")
@_db_option
def disable(endpoint_id: str, db_path: str | None) -> None:
    """Stop sending to an endpoint; its pending deliveries fail (replay them later).

    Example:

        wirewatch webhooks disable ep_0123456789ab
    """
    with _hooks(db_path) as (_, hooks):
        if not hooks.set_enabled(endpoint_id, False, at=time.time(), reason="disabled by hand"):
            raise click.ClickException(f"no endpoint {endpoint_id!r}")
    click.echo(f"disabled {endpoint_id}")


@webhooks.command("rotate")
@click.argument("endpoint_id")
@click.option("--secret", help="The new whsec_... secret [default: a new random one].")
@click.option(
    "--keep-old-for",
    "keep_old_for",
    default="24h",
    show_default=True,
    help="How long the old secret signs too (deliveries carry both signatures).",
)
@_db_option
def rotate(endpoint_id: str, secret: str | None, keep_old_for: str, db_path: str | None) -> None:
    """Give an endpoint a new signing secret; prints it (only this once).

    Example:

        wirewatch webhooks rotate ep_0123456789ab --keep-old-for 2h
    """
    now = time.time()
    with _hooks(db_path) as (deliverer, hooks):
        ep = hooks.endpoint(endpoint_id)
        if ep is None:
            raise click.ClickException(f"no endpoint {endpoint_id!r}")
        try:
            fresh = new_endpoint(ep.url, settings=deliverer.settings, now=now,
                                 secret=secret or generate_secret())  # fmt: skip
            until = now + parse_duration(keep_old_for)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        hooks.rotate_secret(endpoint_id, fresh.secret, previous_until=until)
    click.echo(f"secret: {fresh.secret}")
    click.echo(f"The old secret signs too until {_when(until)} UTC.", err=True)


@webhooks.command("test")
@click.argument("endpoint_id")
@_json_option
@_db_option
def test(endpoint_id: str, as_json: bool, db_path: str | None) -> None:
    """Send a signed `webhook.test` message to an endpoint now (once, no retries).

    Exit status 0 when it answered 2xx in time, 1 otherwise.

    Example:

        wirewatch webhooks test ep_0123456789ab
    """
    with _hooks(db_path) as (deliverer, _):
        try:
            attempt = deliverer.send_test(endpoint_id, time.time())
        except KeyError:
            raise click.ClickException(f"no endpoint {endpoint_id!r}") from None
    if as_json:
        click.echo(json.dumps(attempt.to_dict()))
    else:
        said = f" ({attempt.error})" if attempt.error else ""
        click.echo(f"{attempt.outcome}: {attempt.status_code or '-'} in "
                   f"{attempt.latency_ms:g} ms{said}")  # fmt: skip
    if attempt.outcome != "delivered":
        sys.exit(1)


@webhooks.command("deliveries")
@click.option("--failed", is_flag=True, help="Only those whose last attempt failed.")
@click.option("--event", "event_id", help="Only the deliveries of this event.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@_json_option
@_db_option
def deliveries(failed: bool, event_id: str | None, limit: int, as_json: bool,
               db_path: str | None) -> None:  # fmt: skip
    """The delivery log: each delivery, newest first, with every attempt (time, status code,
    latency, error). --json prints one delivery per line, its attempts included.

    Example:

        wirewatch webhooks deliveries --failed
        wirewatch webhooks deliveries --json --event evt_7d7b4dbae124594029b26de5
    """
    with _hooks(db_path) as (_, hooks):
        rows = hooks.deliveries(failed=failed, event_id=event_id, limit=limit)
    if as_json:
        for d, attempts in rows:
            click.echo(json.dumps({**d.to_dict(), "attempt_log": [a.to_dict() for a in attempts]}))
        return
    table = Table(title="deliveries" + (" whose last attempt failed" if failed else ""))
    for col in ("created", "delivery", "event", "endpoint", "status", "tries", "last answer",
                "next try"):  # fmt: skip
        table.add_column(col, overflow="fold")
    for d, attempts in rows:
        last = attempts[-1] if attempts else None
        answer = "-"
        if last is not None:
            answer = f"{last.status_code or '-'} {last.latency_ms:g} ms {last.error or ''}".strip()
        table.add_row(_when(d.created_at), d.id + (" (replay)" if d.replay else ""), d.event_id,
                      d.endpoint_id, d.status, str(d.attempts), answer,
                      _when(d.due_at) if d.status == "pending" else "-")  # fmt: skip
    Console().print(table)


@webhooks.command("replay")
@click.argument("event_id", required=False)
@click.option("--since", help="Every event stored since: ISO 8601, unix seconds or an age (2h).")
@click.option("--until", help="With --since: up to this time [default: now].")
@click.option("--endpoint", "endpoint_id", help="Only to this endpoint [default: all enabled].")
@_json_option
@_db_option
def replay_(event_id: str | None, since: str | None, until: str | None,
            endpoint_id: str | None, as_json: bool, db_path: str | None) -> None:  # fmt: skip
    """Send stored events again, now: one EVENT_ID, or every event of a time window.

    Each goes with its own event id as `webhook-id`, so a receiver that deduplicates by it
    must forget the ids it wants again.

    Example:

        wirewatch webhooks replay evt_7d7b4dbae124594029b26de5
        wirewatch webhooks replay --since 2025-05-15T06:00:00Z --until 2025-05-15T12:00:00Z
        wirewatch webhooks replay --since 6h --endpoint ep_0123456789ab
    """
    if (event_id is None) == (since is None):
        raise click.UsageError("give an EVENT_ID or --since TIME (not both)")
    now = time.time()
    with _hooks(db_path) as (deliverer, hooks):
        try:
            queued = replay(
                hooks, now=now, event_id=event_id, endpoint_id=endpoint_id,
                since=parse_time(since, now=now) if since else None,
                until=parse_time(until, now=now) if until else None,
            )  # fmt: skip
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        report = deliverer.deliver_due(now)
    if not as_json:
        click.echo(f"{len(queued)} deliveries queued "
                   f"({len({d.event_id for d in queued})} events)")  # fmt: skip
    _echo_report(report, as_json=as_json)


@main.command()
@click.option("--loop", is_flag=True, help="Keep going: a pass every --interval seconds.")
@click.option("--interval", "interval_s", type=click.FloatRange(min=0.1), default=5.0,
              show_default=True, help="With --loop: seconds between passes.")  # fmt: skip
@_json_option
@_db_option
def deliver(loop: bool, interval_s: float, as_json: bool, db_path: str | None) -> None:
    """Send the webhook deliveries that are due (retries, replays); --loop keeps at it.

    `ingest` already sends each new event's deliveries right away; this works through the
    retries the schedule makes due later. Run it from cron, or with --loop as a service.

    Example:

        wirewatch deliver
        wirewatch deliver --loop --interval 5
    """
    with _hooks(db_path) as (deliverer, _):
        while True:
            _echo_report(deliverer.deliver_due(time.time()), as_json=as_json)
            if not loop:
                return
            try:
                time.sleep(interval_s)
            except KeyboardInterrupt:
                return


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) if ts else "-"

"""The `wirewatch` command: ingest inputs and look at stories, events and rejections."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from worker.config import Settings
from worker.deliver import Deliverer
from worker.ingest import Pipeline
from worker.inputs import read_inputs
from worker.models import IngestResult
from worker.store import views
from worker.store.base import Store

__all__ = ["main", "print_results"]

_db_option = click.option(
    "--db",
    "db_path",
    envvar="WIREWATCH_DB",
    type=click.Path(dir_okay=False),
    help="SQLite file of the embedded store [env WIREWATCH_DB; default "
    "~/.local/share/wirewatch/wirewatch.db].",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
PROGRESS_MIN_INPUTS = 20


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wirewatch")
def main() -> None:
    """wirewatch: recognise one story across outlets and say what each article adds."""


@contextmanager
def _opened(db_path: str | None) -> Iterator[tuple[Pipeline, Store]]:
    try:
        pipeline = Pipeline(Settings.from_env(db_path=db_path))
        store = pipeline.open_store()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield pipeline, store
    finally:
        store.close()


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_json_option
@_db_option
def ingest(paths: tuple[str, ...], as_json: bool, db_path: str | None) -> None:
    """Ingest text, HTML or JSON article files, directories or `-` (stdin).

    With --json, prints one JSON object per input, in input order. Exit status: 0 when every
    input was accepted, 1 when at least one was rejected (the others are still processed),
    2 on a usage error.

    Example:

        wirewatch ingest seeds/
        wirewatch ingest --json article.html feed-items.jsonl
        cat story.txt | wirewatch ingest -
    """
    console = Console(stderr=True)
    results: list[IngestResult] = []
    with (
        _opened(db_path) as (pipeline, store),
        Deliverer(pipeline.settings, store.webhooks()) as deliverer,  # webhooks (issue 5)
    ):
        max_bytes = pipeline.settings.max_input_bytes
        items = read_inputs(paths, stdin=sys.stdin.buffer, max_bytes=max_bytes)
        show_progress = not as_json and console.is_terminal and len(paths) >= PROGRESS_MIN_INPUTS
        with Progress(console=console, transient=True, disable=not show_progress) as progress:
            task = progress.add_task("ingesting", total=None)
            for origin, doc in items:
                if isinstance(doc, Exception):
                    result = pipeline.reject(origin, doc, store, now=time.time())
                else:
                    result = pipeline.ingest(doc, store, now=time.time())
                results.append(result)
                progress.advance(task)
                if as_json:
                    click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
                if result.event is not None:  # webhooks: send its deliveries (and due retries)
                    deliverer.deliver_due(time.time())
    if not as_json:
        print_results(results)
    if any(r.status == "rejected" for r in results):
        sys.exit(1)


def print_results(results: list[IngestResult]) -> None:
    """The human table of `ingest` (and `submit --wait`)."""
    table = Table(title=f"{len(results)} inputs")
    for col in ("input", "status", "story", "article", "new facts / reason"):
        table.add_column(col, overflow="fold")
    for r in results:
        detail = r.error or ""
        if r.event and r.event["type"] == "story.new_development":
            detail = f"{len(r.event['novel_facts'])} sentences, novelty {r.event['novelty']}"
        elif r.event:
            detail = f"new story: {r.event['story']['title'] or ''}"
        table.add_row(r.input, r.status, r.story_id or "-", r.article_id or "-", detail)
    Console().print(table)


@main.command()
@_json_option
@_db_option
@click.option("--limit", default=50, show_default=True, help="How many stories.")
@click.option("--grep", "query", metavar="TEXT", help="Only titles holding TEXT (any case).")
@click.option("--developed", is_flag=True, help="Only stories with a development.")
def stories(
    as_json: bool, db_path: str | None, limit: int, query: str | None, developed: bool
) -> None:
    """List stories, the most recently developed first.

    Example:

        wirewatch stories --limit 10 --grep istanbul --developed
    """
    with _opened(db_path) as (_, store):
        rows = views.list_stories(store, limit=limit, query=query, developed=developed)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print_table(
        "stories",
        ("story", "storyline", "title", "articles", "developments", "last activity"),
        [
            (r["id"], r["storyline_id"], r["title"] or "", str(r["article_count"]),
             str(r["development_count"]), _when(r["last_seen_at"]))
            for r in rows
        ],
    )  # fmt: skip


def print_table(
    title: str | None,
    columns: Iterable[str],
    rows: Iterable[Iterable[str]],
    console: Console | None = None,
) -> None:
    """A rich table of `rows` under `columns`, long cells folded."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    (console or Console()).print(table)


@main.command()
@click.argument("story_id")
@_json_option
@_db_option
def story(story_id: str, as_json: bool, db_path: str | None) -> None:
    """Show one story: its articles in order and the facts each one added.

    Example:

        wirewatch story s_0123456789abcdef
    """
    with _opened(db_path) as (_, store):
        detail = views.story_detail(store, story_id)
    if detail is None:
        raise click.ClickException(f"no story {story_id!r}; `wirewatch stories` lists them")
    if as_json:
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    console = Console()
    console.print(
        f"[bold]{detail['title'] or detail['id']}[/]  ({detail['id']}, "
        f"{detail['article_count']} articles)"
    )
    for a in detail["articles"]:
        console.print(
            f"\n[bold]{a['status']}[/] {a['id']} via {a['match']} "
            f"(similarity {a['similarity']}, novelty {a['novelty']}) {a['input']}"
        )
        shown = a["added_facts"] if a["status"] != "duplicate" else []
        for fact in shown[:12]:
            console.print("  • " + _highlight(fact["text"], fact["new_units"]))
        if len(shown) > 12:
            console.print(f"  … {len(shown) - 12} more")


@main.command()
@_json_option
@_db_option
@click.option("--story", "story_id", help="Only the events of this story.")
@click.option("--limit", default=100, show_default=True, help="How many of the latest events.")
def events(as_json: bool, db_path: str | None, story_id: str | None, limit: int) -> None:
    """List emitted events, oldest first; --json prints one event document per line.

    Example:

        wirewatch events --json --story s_0123456789abcdef
    """
    with _opened(db_path) as (_, store):
        docs = views.list_events(store, story_id=story_id, limit=limit)
    if as_json:
        for d in docs:
            click.echo(json.dumps(d, ensure_ascii=False))
        return
    console = Console()
    for d in docs:
        console.print(
            f"\n[bold]{d['type']}[/] {d['id']}  story {d['story']['id']} "
            f'"{d["story"]["title"] or ""}"  article {d["article"]["id"]} '
            f"novelty {d['novelty']}"
        )
        for fact in d["novel_facts"]:
            console.print("  • " + _highlight(fact["text"], fact["new_units"]))


@main.command()
@_json_option
@_db_option
@click.option("--limit", default=100, show_default=True, help="How many, newest first.")
def rejected(as_json: bool, db_path: str | None, limit: int) -> None:
    """List rejected inputs with the reason each was refused.

    Example:

        wirewatch rejected --limit 20
    """
    with _opened(db_path) as (_, store):
        rows = views.list_rejections(store, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="rejected inputs")
    for col in ("when", "input", "reason", "message"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(_when(r["created_at"]), r["input"], r["reason"], r["message"])
    Console().print(table)


def _highlight(text: str, units: list[dict[str, Any]]) -> str:
    from rich.markup import escape

    out = escape(text)
    for u in sorted({u["text"] for u in units}, key=len, reverse=True):
        out = out.replace(escape(u), f"[bold yellow]{escape(u)}[/]")
    return out


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else "-"


# `webhooks ...` and `deliver` live in worker/cli_webhooks.py (importing it registers them)
import worker.cli_webhooks  # noqa: E402, F401

# `feeds`, `poll` and `watch` live in worker/cli_feeds.py (importing it registers them on `main`)
from worker import cli_feeds  # noqa: E402, F401

# `storylines`, `storyline`, `export` and the storyline corrections live in
# worker/cli_storylines.py (importing it registers them on `main`)
from worker import cli_storylines  # noqa: E402, F401

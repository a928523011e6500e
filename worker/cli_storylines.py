"""`wirewatch storylines`, `storyline`, `export` and the storyline corrections
(`merge-storylines`, `split-storyline`). Registered on the `wirewatch` group by worker/cli.py."""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import click
from rich.console import Console

from worker.cli import _db_option, _json_option, _opened, _when, main, print_table
from worker.errors import CorrectionRefused
from worker.store.operator_base import Operator
from worker.subscriptions import parse_time

__all__ = ["export", "merge_storylines", "split_storyline", "storyline", "storylines"]

# the columns of `export`, in order (Store.export_articles); the TSV header names them
EXPORT_COLUMNS = (
    "id", "story_id", "storyline_id", "url", "title", "source", "published_at", "status",
    "event_time", "time_source", "ingested_at",
)  # fmt: skip


@main.command()
@_json_option
@_db_option
@click.option("--limit", default=50, show_default=True, help="How many storylines.")
@click.option("--since", help="Only storylines seen since: ISO 8601, unix seconds or an age (3d).")
@click.option("--grep", "query", metavar="TEXT", help="Only titles holding TEXT (any case).")
def storylines(
    as_json: bool, db_path: str | None, limit: int, since: str | None, query: str | None
) -> None:
    """List storylines (the stories of one topic over weeks), the most recently seen first.

    "Last seen" is the newest article's event time: its publication time when plausible,
    else its ingestion time.

    Example:

        wirewatch storylines --since 7d --grep ukraine
    """
    try:
        since_ts = parse_time(since, now=time.time()) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    with _opened(db_path) as (_, store):
        rows = store.list_storylines(limit=limit, since=since_ts, query=query)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print_table(
        "storylines",
        ("storyline", "title", "stories", "articles", "developments", "last seen"),
        [
            (r["id"], r["title"] or "", str(r["story_count"]), str(r["article_count"]),
             str(r["development_count"]), _when(r["last_seen_at"]))
            for r in rows
        ],
    )  # fmt: skip


@main.command()
@click.argument("storyline_id")
@_json_option
@_db_option
def storyline(storyline_id: str, as_json: bool, db_path: str | None) -> None:
    """Show one storyline and its stories, oldest first (`wirewatch story ID` shows one).

    Example:

        wirewatch storyline l_0123456789abcdef
    """
    with _opened(db_path) as (_, store):
        detail = store.storyline_detail(storyline_id)
    if detail is None:
        raise click.ClickException(
            f"no storyline {storyline_id!r}; `wirewatch storylines` lists them"
        )
    if as_json:
        click.echo(json.dumps(detail, indent=2, ensure_ascii=False))
        return
    console = Console()
    console.print(
        f"[bold]{detail['title'] or detail['id']}[/]  ({detail['id']}, "
        f"{detail['story_count']} stories, {detail['article_count']} articles, "
        f"last seen {_when(detail['last_seen_at'])})"
    )
    print_table(
        None,
        ("story", "title", "articles", "developments", "created", "last activity"),
        [
            (s["id"], s["title"] or "", str(s["article_count"]), str(s["development_count"]),
             _when(s["created_at"]), _when(s["last_seen_at"]))
            for s in detail["stories"]
        ],
        console,
    )  # fmt: skip


@main.command()
@_json_option
@_db_option
def export(as_json: bool, db_path: str | None) -> None:
    """Print every stored article, in ingest order, as it is read (nothing is held back).

    With --json, one JSON object per line (JSON Lines); without, tab-separated values with a
    header line: the same columns and values, times in Unix seconds, empty for none.

    Example:

        wirewatch export --json > articles.jsonl
        wirewatch export | cut -f1-3
    """
    with _opened(db_path) as (_, store):
        rows = store.export_articles()
        if as_json:
            _stream(json.dumps(r, ensure_ascii=False) for r in rows)
        else:
            _stream(itertools.chain(["\t".join(EXPORT_COLUMNS)], map(_tsv, rows)))


def _tsv(row: dict[str, Any]) -> str:
    cells = ("" if row.get(c) is None else str(row[c]) for c in EXPORT_COLUMNS)
    return "\t".join(" ".join(cell.split()) for cell in cells)  # no tab or newline in a cell


def _stream(lines: Iterable[str]) -> None:
    """Write lines as they come; a reader that stops early (`| head`) ends the export quietly."""
    try:
        for line in lines:
            click.echo(line)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that is silent
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


@main.command("merge-storylines")
@click.argument("source")
@click.argument("target")
@_json_option
@_db_option
def merge_storylines(source: str, target: str, as_json: bool, db_path: str | None) -> None:
    """Merge storyline SOURCE into TARGET: every story of SOURCE moves, SOURCE is gone.

    An operator correction, logged like the API's (`GET /v1/operator/actions`); exit status
    1 when it is refused (unknown id, a storyline into itself).

    Example:

        wirewatch merge-storylines l_0123456789abcdef l_fedcba9876543210
    """
    result = _correct(db_path, lambda op, now: op.merge_storylines(source, target, now=now))
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"storyline {result['source']} merged into {result['target']}: "
        f"{_stories(result['stories_moved'])} moved"
    )


@main.command("split-storyline")
@click.argument("story_id")
@_json_option
@_db_option
def split_storyline(story_id: str, as_json: bool, db_path: str | None) -> None:
    """Give story STORY_ID a storyline of its own (its share of the centroid and facts go).

    An operator correction, logged like the API's; exit status 1 when it is refused (unknown
    story, or the story is alone in its storyline already).

    Example:

        wirewatch split-storyline s_0123456789abcdef
    """
    result = _correct(db_path, lambda op, now: op.split_storyline(story_id, now=now))
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"story {result['story']} left storyline {result['from_storyline']} "
        f"for storyline {result['storyline']}"
    )


def _correct(
    db_path: str | None, correction: Callable[[Operator, float], dict[str, Any]]
) -> dict[str, Any]:
    """Run one correction (its own transaction); a refusal is the command's error."""
    with _opened(db_path) as (_, store):
        try:
            return correction(store.operator(), time.time())
        except CorrectionRefused as exc:
            raise click.ClickException(f"refused ({exc.code}): {exc.message}") from exc


def _stories(n: int) -> str:
    return f"{n} story" if n == 1 else f"{n} stories"

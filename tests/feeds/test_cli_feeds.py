"""The feed commands: help, intervals, OPML import/export round trip, `watch` stopping on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from tests.conftest import ROOT
from tests.feeds.conftest import SEED_TIMES, rss, seed_articles
from worker.cli import main
from worker.cli_feeds import parse_interval
from worker.errors import BadInput
from worker.pipeline.opml import OpmlFeed, read_opml, write_opml

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>My feeds</title></head><body>
  <outline text="World" title="World">
    <outline type="rss" text="Wire World" title="Wire World" xmlUrl="https://wire.example/world.rss"
             htmlUrl="https://wire.example/"/>
    <outline type="rss" text="Atom Wire" xmlUrl="https://atom.example/feed.atom"/>
  </outline>
  <outline type="rss" text="Dup" xmlUrl="https://wire.example/world.rss"/>
  <outline text="no feed here"/>
</body></opml>"""


@pytest.fixture
def run(tmp_path):
    env = {
        "WIREWATCH_DB": str(tmp_path / "cli.db"),
        "WIREWATCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
        "WIREWATCH_FETCH_HOST_INTERVAL_S": "0",
        "COLUMNS": "200",
    }

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    invoke.env = env  # type: ignore[attr-defined]
    return invoke


def test_every_feed_command_has_help_with_an_example():
    def walk(cmd: click.Command, name: str):
        yield name, cmd
        if isinstance(cmd, click.Group):
            for sub_name, sub in cmd.commands.items():
                yield from walk(sub, f"{name} {sub_name}")

    names = []
    for name, cmd in walk(main, "wirewatch"):
        names.append(name)
        if name != "wirewatch":
            assert "Example:" in (cmd.help or ""), name
    for wanted in (
        "feeds add",
        "feeds list",
        "feeds remove",
        "feeds resume",
        "feeds import",
        "feeds export",
        "poll",
        "watch",
    ):
        assert f"wirewatch {wanted}" in names


def test_interval_parses_durations():
    assert [parse_interval(x) for x in ("90s", "15m", "1h", "1h30m", "2d", "900")] == [
        90,
        900,
        3600,
        5400,
        172800,
        900,
    ]
    for bad in ("", "soon", "15x", "10s", "-5m"):
        with pytest.raises(click.BadParameter):
            parse_interval(bad)


def test_feeds_add_list_remove(run):
    assert run("feeds", "add", "https://wire.example/world.rss", "--interval", "15m").exit_code == 0
    assert "updated" in run("feeds", "add", "https://wire.example/world.rss").stdout
    (feed,) = json.loads(run("feeds", "list", "--json").stdout)
    assert (feed["url"], feed["interval_s"], feed["status"]) == (
        "https://wire.example/world.rss",
        900,
        "new",
    )
    assert "wire.example/world.rss" in run("feeds", "list").stdout
    assert run("feeds", "add", "ftp://wire.example/x").exit_code == 2
    assert run("feeds", "add", "https://x.example/", "--interval", "5s").exit_code == 2
    assert run("feeds", "remove", "https://wire.example/world.rss").exit_code == 0
    assert run("feeds", "remove", "https://wire.example/world.rss").exit_code == 1
    assert run("feeds", "resume", "https://wire.example/world.rss").exit_code == 1
    assert json.loads(run("feeds", "list", "--json").stdout) == []


def test_opml_reads_nested_outlines_once_and_refuses_entities():
    feeds = read_opml(OPML)
    assert feeds == [
        OpmlFeed("https://wire.example/world.rss", "Wire World"),
        OpmlFeed("https://atom.example/feed.atom", "Atom Wire"),
    ]
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>'
    for bad, reason in (
        (bomb, "feed_entities"),
        (b"<opml><body>", "bad_opml"),
        (b"<rss/>", "not_opml"),
    ):
        with pytest.raises(BadInput) as exc:
            read_opml(bad)
        assert exc.value.reason == reason


def test_opml_import_export_round_trip(run, tmp_path):
    # Given an OPML file from a feed reader
    path = tmp_path / "subs.opml"
    path.write_bytes(OPML)
    # When it is imported, one feed given an interval, and exported
    out = run("feeds", "import", str(path)).stdout
    run("feeds", "add", "https://atom.example/feed.atom", "--interval", "1h")
    exported = run("feeds", "export").stdout
    # Then the export lists every feed with its title and interval
    assert "imported 2 feeds" in out and "(2 new)" in out
    assert read_opml(exported.encode()) == [
        OpmlFeed("https://atom.example/feed.atom", "Atom Wire", 3600),
        OpmlFeed("https://wire.example/world.rss", "Wire World"),
    ]
    # And importing the export into an empty store gives the same registry
    again = tmp_path / "again.opml"
    again.write_text(exported)
    other = CliRunner().invoke(
        main,
        ["feeds", "import", str(again), "--db", str(tmp_path / "other.db")],
        catch_exceptions=False,
    )
    assert other.exit_code == 0
    listed = CliRunner().invoke(
        main, ["feeds", "list", "--json", "--db", str(tmp_path / "other.db")]
    )
    mine = json.loads(run("feeds", "list", "--json").stdout)
    theirs = json.loads(listed.stdout)
    keep = ("url", "title", "interval_s")
    assert [{k: f[k] for k in keep} for f in theirs] == [{k: f[k] for k in keep} for f in mine]
    # And a file that is not OPML is refused with its reason
    bad = tmp_path / "bad.opml"
    bad.write_text("<rss/>")
    result = run("feeds", "import", str(bad))
    assert result.exit_code == 1 and "not_opml" in result.output


def test_write_opml_escapes_titles():
    text = write_opml([OpmlFeed("https://w.example/?a=1&b=2", 'Tom & "Jerry" <news>')], now=0)
    assert read_opml(text.encode()) == [
        OpmlFeed("https://w.example/?a=1&b=2", 'Tom & "Jerry" <news>')
    ]


def test_watch_polls_then_stops_cleanly_on_ctrl_c(site, tmp_path):
    # Given a feed with one entry
    art = seed_articles()[0]
    site.route("/a.html", art.page)
    items = [
        {
            "title": art.title,
            "link": site.url("/a.html"),
            "guid": "a",
            "date": SEED_TIMES[0],
            "summary": art.summary,
        }
    ]
    feed_url = site.route("/a.rss", rss("Wire", items))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")},
        "WIREWATCH_DB": str(tmp_path / "watch.db"),
        "WIREWATCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
    }
    cmd = [sys.executable, "-m", "worker"]
    subprocess.run(
        [*cmd, "feeds", "add", feed_url], env=env, check=True, cwd=ROOT, capture_output=True
    )
    # When `watch` runs until it has ingested the entry, then gets SIGINT
    proc = subprocess.Popen(
        [*cmd, "watch", "--json"],
        env=env,
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = proc.stdout.readline()
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Then it printed the entry, and exited 0 saying it stopped
    assert json.loads(line)["status"] == "new_story"
    assert proc.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err

"""The CLI contract: `wirewatch ingest --json` lines, exit status, read commands, help."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from tests.conftest import ROOT, SEEDS
from worker.cli import main

KEYS = {"input", "status", "story_id", "storyline_id", "article_id", "event", "error"}


@pytest.fixture
def run(tmp_path):
    db = str(tmp_path / "cli.db")

    def invoke(*args: str, stdin: bytes | None = None):
        return CliRunner().invoke(main, [*args, "--db", db], input=stdin, catch_exceptions=False)

    return invoke


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_ingest_json_prints_one_object_per_input_in_order(run, validate_event):
    # Given the seed directory
    # When it is ingested with --json
    result = run("ingest", "--json", str(ROOT / "seeds"))
    # Then there is one line per seed, in sorted path order, with exactly the documented keys
    lines = _lines(result.stdout)
    assert result.exit_code == 0
    assert [line["input"] for line in lines] == [str(p) for p in SEEDS]
    assert all(set(line) == KEYS for line in lines)
    assert [line["status"] for line in lines][0] == "new_story"
    assert {line["story_id"] for line in lines} == {lines[0]["story_id"]}
    assert {line["storyline_id"] for line in lines} == {lines[0]["storyline_id"]}
    assert lines[0]["storyline_id"].startswith("l_")
    assert lines[2]["status"] == lines[4]["status"] == "development"
    for line in lines:
        if line["event"]:
            validate_event(line["event"])
            assert all("text" in f for f in line["event"]["novel_facts"])


def test_ingest_rejects_bad_inputs_and_processes_the_rest(run, tmp_path):
    # Given a good seed among empty, binary, oversized, invalid UTF-8 and article-less inputs
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 64)
    big = tmp_path / "huge.html"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MB, sparse
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait, cr\xe8me br\xfbl\xe9e ".encode("latin-1") * 20)
    (tmp_path / "nav.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    paths = ["empty.txt", "binary.bin", "huge.html", "latin1.txt", "nav.html"]
    inputs = [str(tmp_path / p) for p in paths] + [str(SEEDS[0])]
    # When they are ingested together
    result = run("ingest", "--json", *inputs)
    lines = _lines(result.stdout)
    # Then each bad input is rejected with its own reason, the seed is processed, exit status 1
    assert result.exit_code == 1
    assert [line["input"] for line in lines] == inputs
    reasons = [(line["error"] or "").split(":")[0] for line in lines[:5]]
    assert reasons == ["empty", "binary", "too_large", "bad_encoding", "no_article_text"]
    assert all(line["status"] == "rejected" and line["story_id"] is None for line in lines[:5])
    assert lines[5]["status"] == "new_story"
    # And the rejections are listed with their reasons
    listed = json.loads(run("rejected", "--json").stdout)
    assert sorted(r["reason"] for r in listed) == sorted(reasons)


def test_ingest_reads_stdin_and_json_lines(run, tmp_path):
    # Given a JSON Lines file of two article objects (one HTML, one broken) and a seed on stdin
    html = "<html><head><title>T</title></head><body><article><p>" + SEEDS[2].read_text(
        encoding="utf-8").split("\n\n\n")[0].replace("\n", "</p><p>") + "</p></article></body></html>"
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({"url": "https://wire.example/a", "title": "Talks", "html": html,
                    "source": "Wire"}) + "\n"
        + json.dumps({"title": "no body"}) + "\n"
    )
    # When stdin and the file are ingested (no published_at: both fall on today, in one window)
    result = run("ingest", "--json", "-", str(items), stdin=SEEDS[0].read_bytes())
    lines = _lines(result.stdout)
    # Then stdin is one input, and each JSON line is its own input
    assert [line["input"] for line in lines] == ["-", f"{items}:1", f"{items}:2"]
    assert lines[0]["status"] == "new_story"
    assert lines[1]["story_id"] == lines[0]["story_id"] and lines[1]["status"] == "development"
    assert lines[1]["event"]["article"]["source"] == "Wire"
    assert lines[2]["status"] == "rejected" and "text" in lines[2]["error"]


def test_read_commands_show_stories_story_and_events(run):
    # Given the seeds ingested
    lines = _lines(run("ingest", "--json", str(ROOT / "seeds")).stdout)
    story_id = lines[0]["story_id"]
    # When stories, story and events are asked for
    stories = json.loads(run("stories", "--json").stdout)
    detail = json.loads(run("story", story_id, "--json").stdout)
    events = _lines(run("events", "--json").stdout)
    human = run("story", story_id).stdout
    # Then they agree with what ingest said
    assert [s["id"] for s in stories] == [story_id]
    found = json.loads(run("stories", "--json", "--grep", "PEACE", "--developed").stdout)
    assert [s["id"] for s in found] == [story_id]
    assert json.loads(run("stories", "--json", "--grep", "no such title").stdout) == []
    assert stories[0]["article_count"] == 5 and stories[0]["development_count"] >= 2
    assert [a["id"] for a in detail["articles"]] == [line["article_id"] for line in lines]
    added_004 = " ".join(f["text"] for f in detail["articles"][4]["added_facts"])
    assert "Galuzin" in added_004
    assert [e["id"] for e in events] == [line["event"]["id"] for line in lines if line["event"]]
    assert "Galuzin" in human
    assert run("story", "s_missing").exit_code == 1


def test_every_command_has_help_with_an_example():
    # Given every command of the group
    for name, command in main.commands.items():
        # Then its help has an Example block
        assert isinstance(command, click.Command)
        assert "Example:" in (command.help or ""), name


def test_console_script_runs_as_module(tmp_path):
    # Given the installed package; When `python -m worker --help` runs in a real process
    out = subprocess.run([sys.executable, "-m", "worker", "--help"], capture_output=True,
                         text=True, check=True)
    # Then the commands are listed
    for name in ("ingest", "stories", "story", "events", "rejected"):
        assert name in out.stdout

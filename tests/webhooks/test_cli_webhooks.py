"""The webhook commands in the embedded mode: subscribe, ingest (which delivers at once), the
log, test, replay, `deliver` for due retries (also from a fresh process), remove."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from tests.conftest import ROOT
from worker.cli import main

ENV = {
    "WIREWATCH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",  # the test receiver
    "WIREWATCH_WEBHOOK_RETRY_SCHEDULE_S": "0.2,0.2",
    "WIREWATCH_WEBHOOK_RETRY_JITTER": "0",
    "WIREWATCH_WEBHOOK_TIMEOUT_S": "2",
}


@pytest.fixture
def run(tmp_path):
    db = str(tmp_path / "cli.db")

    def invoke(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(main, [*args, "--db", db], env={**ENV, **(env or {})},
                                  catch_exceptions=False)  # fmt: skip

    invoke.db = db  # type: ignore[attr-defined]
    return invoke


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_subscribe_ingest_log_test_replay_remove(run, receiver):
    rx = receiver()
    # Given an endpoint added with a generated secret, shown once
    added = json.loads(run("webhooks", "add", rx.url, "--json").stdout)
    secret, ep = added["secret"], added["id"]
    assert secret.startswith("whsec_") and added["event_types"] == []
    listed = json.loads(run("webhooks", "list", "--json").stdout)
    assert [e["id"] for e in listed] == [ep] and secret not in json.dumps(listed)
    # When the seeds are ingested
    lines = _lines(run("ingest", "--json", str(ROOT / "seeds")).stdout)
    events = [line["event"] for line in lines if line["event"]]
    # Then each event was delivered right away, once, verifiably with that secret
    assert rx.ids() == [e["id"] for e in events]
    assert [r.verified(secret) for r in rx.requests] == events
    # And the log has each delivery with its attempt
    log = _lines(run("webhooks", "deliveries", "--json").stdout)
    assert sorted(d["event_id"] for d in log) == sorted(e["id"] for e in events)
    assert all(d["status"] == "delivered" and d["attempt_log"][0]["status_code"] == 200
               for d in log)  # fmt: skip
    assert run("webhooks", "deliveries", "--failed", "--json").stdout == ""
    # When a test message is sent
    tested = run("webhooks", "test", ep)
    # Then it arrives signed, as webhook.test
    assert tested.exit_code == 0 and tested.stdout.startswith("delivered: 200")
    assert rx.requests[-1].verified(secret)["type"] == "webhook.test"
    # When one event is replayed
    replayed = run("webhooks", "replay", events[1]["id"])
    # Then it is sent again at once, with its id
    assert replayed.exit_code == 0 and "1 deliveries queued" in replayed.stdout
    assert rx.ids()[-1] == events[1]["id"]
    # And a replay needs an event or a window, not both and not neither
    assert run("webhooks", "replay").exit_code == 2
    assert run("webhooks", "replay", events[0]["id"], "--since", "1h").exit_code == 2
    # When the endpoint is removed, the next ingest sends nothing
    assert run("webhooks", "remove", ep).exit_code == 0
    assert json.loads(run("webhooks", "list", "--json").stdout) == []
    before = len(rx.requests)
    run("ingest", str(ROOT / "README.md"))
    assert len(rx.requests) == before
    assert run("webhooks", "remove", ep).exit_code == 1


def test_failed_deliveries_are_listed_and_deliver_sends_them_when_due(run, receiver):
    # Given a receiver that fails the first try of each message, and a 1 s first retry
    slow = {"WIREWATCH_WEBHOOK_RETRY_SCHEDULE_S": "1"}
    rx = receiver(lambda req, seen: (500, {}) if not seen else (200, {}))
    secret = json.loads(run("webhooks", "add", rx.url, "--json",
                            "--events", "story.new_development").stdout)["secret"]  # fmt: skip
    # When the seeds are ingested
    lines = _lines(run("ingest", "--json", str(ROOT / "seeds"), env=slow).stdout)
    devs = [line["event"]["id"] for line in lines
            if line["event"] and line["event"]["type"] == "story.new_development"]  # fmt: skip
    # Then only the developments were tried; those not retried yet are listed as failing
    log = _lines(run("webhooks", "deliveries", "--json").stdout)
    assert sorted(d["event_id"] for d in log) == sorted(devs)
    assert all(d["attempt_log"][0]["status_code"] == 500 for d in log)
    failed = _lines(run("webhooks", "deliveries", "--failed", "--json").stdout)
    waiting = [d["event_id"] for d in log if d["status"] == "pending"]
    assert waiting and sorted(d["event_id"] for d in failed) == sorted(waiting)
    assert all(d["last_status"] == 500 for d in failed)
    # When `deliver` runs once they are due
    time.sleep(1.1)
    out = run("deliver", "--json", env=slow)
    # Then they are delivered, each once, and nothing is failing any more
    assert json.loads(out.stdout)["delivered"] == len(waiting)
    assert sorted(rx.ids()) == sorted(devs) and all(r.verified(secret) for r in rx.requests)
    assert run("webhooks", "deliveries", "--failed", "--json").stdout == ""


def test_a_fresh_process_delivers_what_a_finished_one_left_due(run, receiver):
    # Given deliveries left waiting by an ingest whose process has ended (receiver was 503)
    slow = {"WIREWATCH_WEBHOOK_RETRY_SCHEDULE_S": "1"}
    rx = receiver(lambda req, seen: (503, {}) if not seen else (200, {}))
    run("webhooks", "add", rx.url)
    run("ingest", str(ROOT / "seeds"), env=slow)
    waiting = 4 - len(rx.ids())  # a slow ingest may have sent some retries itself
    assert waiting >= 1 and len(rx.ids(status=503)) == 4
    time.sleep(1.1)
    # When `wirewatch deliver` runs in a new process
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}, **ENV}
    argv = [sys.executable, "-m", "worker", "deliver", "--json", "--db", run.db]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    # Then it sends the rest, and each event arrived once
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["delivered"] == waiting
    assert len(rx.ids()) == len(set(rx.ids())) == 4


def test_add_refuses_bad_urls_secrets_and_types(run):
    assert run("webhooks", "add", "ftp://example.com/x").exit_code == 1
    assert run("webhooks", "add", "https://example.com/x", "--secret", "s3cret").exit_code == 1
    assert run("webhooks", "add", "https://example.com/x", "--events", "story.gone").exit_code == 1
    refused = CliRunner().invoke(main, ["webhooks", "add", "http://10.0.0.1/x", "--db", run.db])
    assert refused.exit_code == 1 and "WIREWATCH_ALLOW_PRIVATE_NETWORKS" in refused.output
    given = "whsec_" + "QUJD" * 8
    out = json.loads(run("webhooks", "add", "https://example.com/x", "--secret", given,
                         "--json").stdout)  # fmt: skip
    assert out["secret"] == given


def test_rotate_prints_a_new_secret_and_keeps_the_old_one_signing(run, receiver):
    rx = receiver()
    added = json.loads(run("webhooks", "add", rx.url, "--json").stdout)
    rotated = run("webhooks", "rotate", added["id"], "--keep-old-for", "1h")
    new_secret = rotated.stdout.split("secret: ")[1].strip()
    run("webhooks", "test", added["id"])
    assert rx.requests[-1].verified(added["secret"]) and rx.requests[-1].verified(new_secret)


def test_every_webhooks_command_has_help_with_an_example():
    group = main.commands["webhooks"]
    assert isinstance(group, click.Group)
    for name, command in group.commands.items():
        assert "Example:" in (command.help or ""), name
    assert "Example:" in (main.commands["deliver"].help or "")

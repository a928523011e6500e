"""Delivery end to end: the seeds through the pipeline, a real receiver on 127.0.0.1 verifying
every request with the `standardwebhooks` library, failures, retries, replays and restarts."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from tests.conftest import NOW
from tests.webhooks.conftest import SECRET, event_bodies
from worker import Document, Pipeline
from worker.deliver import Deliverer
from worker.subscriptions import new_endpoint, replay


def _subscribe(store, settings, url, *types, secret=SECRET):
    ep = new_endpoint(url, settings=settings, now=NOW, event_types=types, secret=secret)
    store.webhooks().add_endpoint(ep)
    return ep


def _ingest_all(pipeline, store, docs, deliverer, *, start=NOW, step=1.0):
    """Ingest each doc and deliver right after it, as the CLI does; returns the events."""
    events = []
    for i, doc in enumerate(docs):
        at = start + i * step
        result = pipeline.ingest(doc, store, now=at)
        if result.event:
            events.append(result.event)
            deliverer.deliver_due(at)
    return events


def _attempts(store, event_id):
    ((delivery, attempts),) = store.webhooks().deliveries(event_id=event_id)
    return delivery, attempts


def test_seeds_deliver_each_event_once_signed_in_order(backend, receiver, seed_docs):
    # Given an endpoint for every event type and a receiver that accepts everything
    pipeline, store = backend
    rx = receiver()
    _subscribe(store, pipeline.settings, rx.url)
    # When the seeds are ingested in order, each one's deliveries sent right after it
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        events = _ingest_all(pipeline, store, seed_docs, deliverer)
    # Then the receiver got each event exactly once, in order, with valid signatures
    assert [e["type"] for e in events] == ["story.created"] + ["story.new_development"] * 3
    assert rx.ids() == [e["id"] for e in events]
    assert [r.verified() for r in rx.requests] == events
    # And the body is the stored event document, byte for byte, sent as JSON
    bodies = event_bodies(store)
    for r in rx.requests:
        assert r.body == bodies[r.webhook_id]
        assert r.headers["content-type"] == "application/json"
        assert r.headers["webhook-signature"].startswith("v1,")
        assert abs(int(r.headers["webhook-timestamp"]) - time.time()) < 60
    # And the log shows one delivered attempt each
    for e in events:
        delivery, attempts = _attempts(store, e["id"])
        assert delivery.status == "delivered" and [a.status_code for a in attempts] == [200]


def test_event_type_filter_sends_only_the_wanted_types(backend, receiver, seed_docs):
    # Given one endpoint for developments only and one for new stories only
    pipeline, store = backend
    devs, created = receiver(), receiver()
    _subscribe(store, pipeline.settings, devs.url, "story.new_development")
    _subscribe(store, pipeline.settings, created.url, "story.created")
    # When the seeds are ingested
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        events = _ingest_all(pipeline, store, seed_docs, deliverer)
    # Then each receiver got just its type
    assert devs.ids() == [e["id"] for e in events if e["type"] == "story.new_development"]
    assert created.ids() == [events[0]["id"]]


def test_500s_then_200_retry_with_the_same_webhook_id_and_log_each_attempt(
    backend, receiver, seed_docs
):
    # Given a receiver that answers 500 to the first two tries of each message, then 200
    pipeline, store = backend
    rx = receiver(lambda req, seen: (500, {}) if seen < 2 else (200, {}))
    _subscribe(store, pipeline.settings, rx.url)
    # When the seeds are ingested and deliveries run as time passes (schedule 10, 20, 30 s)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        events = _ingest_all(pipeline, store, seed_docs, deliverer)
        for t in (NOW + 15, NOW + 40):
            deliverer.deliver_due(t)
    # Then every event arrived, after three tries that all carried its id and verified
    ids = [e["id"] for e in events]
    assert sorted(rx.ids()) == sorted(ids)
    assert sorted(rx.ids(status=None)) == sorted(ids * 3)
    assert all(r.verified()["id"] == r.webhook_id for r in rx.requests)
    # And the log shows each attempt: two 500s then a 200
    for e in events:
        delivery, attempts = _attempts(store, e["id"])
        assert delivery.status == "delivered" and delivery.attempts == 3
        assert [(a.attempt, a.status_code, a.outcome) for a in attempts] == [
            (1, 500, "retrying"), (2, 500, "retrying"), (3, 200, "delivered"),
        ]  # fmt: skip
        assert attempts[0].error.startswith("HTTP 500") and attempts[2].error is None
        assert attempts[1].at - attempts[0].at >= 10  # the schedule was kept


def test_receiver_down_then_up_loses_nothing_and_duplicates_nothing(backend, receiver, seed_docs):
    # Given an endpoint whose receiver is down (nothing listens on its port)
    pipeline, store = backend
    rx = receiver()
    port = rx.port
    rx.stop()
    _subscribe(store, pipeline.settings, f"http://127.0.0.1:{port}/hook")
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        # When the seeds are ingested while it is down, and a retry also finds it down
        events = _ingest_all(pipeline, store, seed_docs, deliverer)
        deliverer.deliver_due(NOW + 15)
        # Then nothing arrived; every delivery is waiting with its failures logged
        assert rx.requests == []
        failed = store.webhooks().deliveries(failed=True)
        assert len(failed) == len(events)
        assert all(d.status == "pending" and "ConnectError" in d.last_error for d, _ in failed)
        # When it comes back up on the same port and the retries come due
        back = receiver(port=port)
        deliverer.deliver_due(NOW + 40)
    # Then every event arrived exactly once
    assert sorted(back.ids()) == sorted(e["id"] for e in events)
    assert len(back.ids(status=None)) == len(events)
    assert all(r.verified() for r in back.requests)
    assert store.webhooks().deliveries(failed=True) == []


def test_replay_since_resends_exactly_the_events_of_the_window(backend, receiver, seed_docs):
    # Given the seeds delivered, the first two stored before a moment and the rest after it
    pipeline, store = backend
    rx = receiver()
    _subscribe(store, pipeline.settings, rx.url)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        before = _ingest_all(pipeline, store, seed_docs[:2], deliverer, start=time.time(), step=0)
        time.sleep(0.05)
        since = time.time()
        time.sleep(0.05)
        after = _ingest_all(pipeline, store, seed_docs[2:], deliverer, start=time.time(), step=0)
        delivered = rx.ids()
        # When the window since that moment is replayed
        now = time.time()
        queued = replay(store.webhooks(), now=now, since=since)
        deliverer.deliver_due(now)
    # Then exactly the window's events were sent again, with their own ids, verified
    assert delivered == [e["id"] for e in before + after]
    assert sorted(rx.ids()[len(delivered) :]) == sorted(e["id"] for e in after)  # no order
    assert {d.event_id for d in queued} == {e["id"] for e in after} and len(queued) == len(after)
    assert all(r.verified() for r in rx.requests)
    # And the replays are deliveries of their own in the log
    replays = [d for d, _ in store.webhooks().deliveries() if d.replay]
    assert len(replays) == len(after) and all(d.status == "delivered" for d in replays)


def test_replay_of_one_event_to_one_endpoint(backend, receiver, seed_docs):
    # Given two endpoints and the first seed delivered to both
    pipeline, store = backend
    a, b = receiver(), receiver()
    _subscribe(store, pipeline.settings, a.url)
    ep_b = _subscribe(store, pipeline.settings, b.url)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        (event,) = _ingest_all(pipeline, store, seed_docs[:1], deliverer)
        # When it is replayed to the second endpoint only
        replay(store.webhooks(), now=NOW + 5, event_id=event["id"], endpoint_id=ep_b.id)
        deliverer.deliver_due(NOW + 5)
    # Then only that endpoint got it again
    assert a.ids() == [event["id"]] and b.ids() == [event["id"]] * 2
    with pytest.raises(ValueError, match="no stored event"):
        replay(store.webhooks(), now=NOW, event_id="evt_" + "0" * 24)


def test_410_gone_disables_the_endpoint(backend, receiver, seed_docs):
    # Given a receiver that answers 410 Gone
    pipeline, store = backend
    rx = receiver(lambda req, seen: (410, {}))
    ep = _subscribe(store, pipeline.settings, rx.url)
    # When the seeds are ingested
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        _ingest_all(pipeline, store, seed_docs[:2], deliverer)
        deliverer.deliver_due(NOW + 100)
    # Then it was tried once, is disabled with the reason, and nothing else went to it
    assert len(rx.requests) == 1
    endpoint = store.webhooks().endpoint(ep.id)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert all(d.status == "failed" for d, _ in store.webhooks().deliveries())


def test_slow_receiver_is_a_failure_and_is_retried(backend, receiver, seed_docs):
    # Given a 0.3 s timeout and a receiver that takes 1 s to answer the first time
    pipeline, store = backend
    pipeline = Pipeline(dataclasses.replace(pipeline.settings, webhook_timeout_s=0.3))
    rx = receiver()
    rx.delay_s = 1.0
    _subscribe(store, pipeline.settings, rx.url)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        # When the first seed's event is delivered
        (event,) = _ingest_all(pipeline, store, seed_docs[:1], deliverer)
        # Then the attempt timed out and is to be retried
        delivery, attempts = _attempts(store, event["id"])
        assert delivery.status == "pending" and attempts[0].outcome == "retrying"
        assert attempts[0].error.startswith("timeout") and attempts[0].latency_ms < 1000
        # And once the receiver is quick again, the retry delivers it
        rx.delay_s = 0.0
        deliverer.deliver_due(NOW + 15)
    assert _attempts(store, event["id"])[0].status == "delivered"


def test_retry_after_of_429_and_503_is_honoured(backend, receiver, seed_docs):
    # Given a receiver answering 429 with Retry-After: 25 to the first try (schedule says 10)
    pipeline, store = backend
    rx = receiver(lambda req, seen: (429, {"Retry-After": "25"}) if not seen else (200, {}))
    _subscribe(store, pipeline.settings, rx.url)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        (event,) = _ingest_all(pipeline, store, seed_docs[:1], deliverer)
        # When the schedule's 10 s have passed, then the 25 s it asked for
        deliverer.deliver_due(NOW + 15)
        tries_at_15 = len(rx.requests)
        deliverer.deliver_due(NOW + 26)
    # Then it waited for what the receiver asked
    assert tries_at_15 == 1 and rx.ids() == [event["id"]]


def test_endpoint_failing_longer_than_disable_after_is_disabled_and_reported(
    backend, receiver, seed_docs
):
    # Given a receiver that always fails, and disable_after 100 s (schedule 10, 20, 30)
    pipeline, store = backend
    settings = dataclasses.replace(pipeline.settings, webhook_disable_after_s=100)
    rx = receiver(lambda req, seen: (500, {}))
    ep = _subscribe(store, settings, rx.url)
    with Deliverer(settings, store.webhooks()) as deliverer:
        # When events keep failing for over 100 s
        _ingest_all(pipeline, store, seed_docs[:1], deliverer)
        reports = [deliverer.deliver_due(NOW + t) for t in (15, 40, 75)]
        pipeline.ingest(seed_docs[1], store, now=NOW + 101)
        last = deliverer.deliver_due(NOW + 101)
    # Then the first event was given up after the schedule, the endpoint still enabled
    assert [r.retrying for r in reports] == [1, 1, 0] and reports[-1].failed == 1
    assert not any(r.disabled for r in reports)
    # And the failure past 100 s disabled it, with the reason, and the call reported it
    endpoint = store.webhooks().endpoint(ep.id)
    assert not endpoint.enabled and "no success for over" in endpoint.disabled_reason
    assert last.disabled == {ep.id: endpoint.disabled_reason}
    assert all(d.status == "failed" for d, _ in store.webhooks().deliveries())
    assert len(rx.requests) == 5


def test_delivery_survives_a_restart_mid_schedule(backend, reopen, receiver, seed_docs):
    # Given deliveries that failed once and wait for their retry
    pipeline, store = backend
    rx = receiver(lambda req, seen: (503, {}) if not seen else (200, {}))
    _subscribe(store, pipeline.settings, rx.url)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        events = _ingest_all(pipeline, store, seed_docs, deliverer)
    assert rx.ids() == []
    # When a fresh process (new pipeline, store connection and deliverer) carries on
    settings = pipeline.settings
    del pipeline, deliverer
    fresh = Pipeline(settings)
    with Deliverer(fresh.settings, reopen().webhooks()) as again:
        report = again.deliver_due(NOW + 20)
    # Then every event arrived, on its second try
    assert report.delivered == len(events)
    assert sorted(rx.ids()) == sorted(e["id"] for e in events)
    assert len(rx.requests) == 2 * len(events)


def test_a_claimed_delivery_whose_sender_died_is_sent_after_its_lease(backend, receiver, seed_docs):
    # Given a delivery claimed by a sender that died before sending it
    pipeline, store = backend
    rx = receiver()
    _subscribe(store, pipeline.settings, rx.url)
    pipeline.ingest(seed_docs[0], store, now=NOW)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        assert store.webhooks().claim(NOW, lease_until=NOW + deliverer.lease_s, token="dead",
                                      limit=10)  # fmt: skip
        # When others look for due deliveries during the lease, and after it
        during = deliverer.deliver_due(NOW + deliverer.lease_s - 1)
        after = deliverer.deliver_due(NOW + deliverer.lease_s + 1)
    # Then it is sent once, after the lease
    assert during.attempted == 0 and after.delivered == 1 and len(rx.ids()) == 1


def test_two_deliverers_at_once_never_send_one_attempt_twice(backend, reopen, receiver, seed_docs):
    # Given 12 deliveries waiting (3 endpoints, 4 events; the receiver was down)
    pipeline, store = backend
    rx = receiver()
    port = rx.port
    rx.stop()
    for path in ("a", "b", "c"):
        _subscribe(store, pipeline.settings, f"http://127.0.0.1:{port}/{path}")
    for i, doc in enumerate(seed_docs):
        pipeline.ingest(doc, store, now=NOW + i)
    pending = len(store.webhooks().deliveries(limit=1000))
    back = receiver(port=port)
    back.delay_s = 0.01
    stores = [reopen(), reopen()]

    def work(n: int) -> None:  # each sender on its own connection, in its own thread
        s = stores[n] if not hasattr(stores[n], "db") else Pipeline(pipeline.settings).open_store()
        with Deliverer(pipeline.settings, s.webhooks()) as d:
            d.deliver_due(NOW + 100)
        if hasattr(s, "db"):
            s.close()

    # When both work through the due deliveries at the same time
    threads = [threading.Thread(target=work, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then every delivery went exactly once
    assert pending == 12
    assert len(back.requests) == 12
    assert len({(r.webhook_id, r.path) for r in back.requests}) == 12


def test_payload_stays_under_20kb_for_an_article_with_hundreds_of_new_facts(
    backend, receiver, seed_docs
):
    # Given a story, then its article updated in place with 400 new facts
    pipeline, store = backend
    rx = receiver()
    _subscribe(store, pipeline.settings, rx.url)
    base = seed_docs[2].body.split("\n\n\n")[0]
    url = "https://wire.example/2025/05/talks"
    extra = " ".join(
        f"Minister Name{i} Surname{i} said {1000 + i} people left." for i in range(400)
    )
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        _ingest_all(pipeline, store, [Document("v1", base, "text", url=url),
                                      Document("v2", base + "\n\n" + extra, "text", url=url)],
                    deliverer)  # fmt: skip
    # Then the development's delivery is under 20 KB, capped and marked truncated
    big = rx.requests[-1]
    event = big.verified()
    assert event["type"] == "story.new_development" and event["truncated"]
    assert event["novel_facts_total"] >= 300
    assert len(big.body) < 20_000


def test_rotated_secret_signs_with_both_until_the_old_one_expires(backend, receiver, seed_docs):
    # Given an endpoint whose secret was rotated, the old one kept for a while
    pipeline, store = backend
    rx = receiver()
    ep = _subscribe(store, pipeline.settings, rx.url)
    new_secret = "whsec_" + "QUJD" * 8
    store.webhooks().rotate_secret(ep.id, new_secret, previous_until=NOW + 60)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        _ingest_all(pipeline, store, seed_docs[:2], deliverer, start=NOW, step=100)
    # Then the first delivery verifies with either secret; the later one with the new only
    first, second = rx.requests
    assert first.verified(SECRET) and first.verified(new_secret)
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert second.verified(new_secret)
    assert len(second.headers["webhook-signature"].split(" ")) == 1


def test_private_addresses_are_refused_unless_allowed(pipeline, store, receiver, seed_docs):
    # Given the default settings (no private networks allowed) and a receiver on loopback
    rx = receiver()
    # Then an address literal is refused when subscribing
    with pytest.raises(ValueError, match="loopback"):
        new_endpoint(rx.url, settings=pipeline.settings, now=NOW)
    # And a name that resolves to it is refused at connect, and logged as such
    ep = new_endpoint(f"http://localhost:{rx.port}/hook", settings=pipeline.settings, now=NOW)
    store.webhooks().add_endpoint(ep)
    with Deliverer(pipeline.settings, store.webhooks()) as deliverer:
        (event,) = _ingest_all(pipeline, store, seed_docs[:1], deliverer)
    _, attempts = _attempts(store, event["id"])
    assert rx.requests == [] and attempts[0].error.startswith("refused")
    assert json.loads(store.webhooks().event_payload(event["id"])) == event

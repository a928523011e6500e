"""The webhook store on both backends: the outbox rides the event's transaction, claims are
exclusive leases, finishing needs the claim's token."""

from __future__ import annotations

import pytest

from tests.conftest import NOW
from tests.webhooks.conftest import SECRET
from worker.store.webhooks import Attempt, Endpoint


def _event(n: int, event_type: str = "story.created") -> dict:
    return {
        "version": 1, "id": f"evt_{n:024x}", "type": event_type,
        "occurred_at": "2025-05-15T00:00:00+00:00",
        "story": {"id": f"s_{n:016x}", "title": "t", "article_count": 1},
        "article": {"id": f"a_{n:016x}", "url": None, "title": None, "source": None,
                    "published_at": None},
        "novelty": None, "novel_facts": [], "novel_facts_total": 0, "compared_with": [],
        "compared_with_total": 0, "truncated": False,
    }  # fmt: skip


def _endpoint(eid: str, *types: str, enabled: bool = True) -> Endpoint:
    return Endpoint(eid, f"http://127.0.0.1:9/{eid}", SECRET, NOW, event_types=types,
                    enabled=enabled)  # fmt: skip


def _add_event(store, event: dict, at: float = NOW) -> bool:
    with store.transaction():
        return store.add_event(event, at=at)


def test_add_event_queues_one_delivery_per_matching_enabled_endpoint(backend):
    # Given endpoints for all types, for developments only, and a disabled one
    _, store = backend
    hooks = store.webhooks()
    hooks.add_endpoint(_endpoint("ep_all"))
    hooks.add_endpoint(_endpoint("ep_dev", "story.new_development"))
    hooks.add_endpoint(_endpoint("ep_off", enabled=False))
    # When a story.created and a story.new_development event are stored, the first one twice
    assert _add_event(store, _event(1))
    assert _add_event(store, _event(2, "story.new_development"))
    assert not _add_event(store, _event(1))
    # Then each event is queued once for each endpoint that wants it
    queued = sorted((d.event_id[-1], d.endpoint_id, d.status) for d, _ in hooks.deliveries())
    assert queued == [
        ("1", "ep_all", "pending"), ("2", "ep_all", "pending"), ("2", "ep_dev", "pending"),
    ]  # fmt: skip


def test_outbox_rows_roll_back_with_their_event(backend):
    # Given an endpoint
    _, store = backend
    hooks = store.webhooks()
    hooks.add_endpoint(_endpoint("ep_all"))
    # When the transaction storing an event fails after add_event
    with pytest.raises(RuntimeError), store.transaction():
        store.add_event(_event(1), at=NOW)
        raise RuntimeError("crash before commit")
    # Then neither the event nor its delivery exists, and storing it again queues it once
    assert hooks.deliveries() == [] and store.list_events() == []
    assert _add_event(store, _event(1))
    assert len(hooks.deliveries()) == 1


def test_a_claim_is_exclusive_until_its_lease_ends(backend):
    # Given two due deliveries
    _, store = backend
    hooks = store.webhooks()
    hooks.add_endpoint(_endpoint("ep_all"))
    _add_event(store, _event(1))
    _add_event(store, _event(2), at=NOW + 1)
    # When one claim takes them
    first = hooks.claim(NOW + 1, lease_until=NOW + 60, token="a", limit=10)
    # Then they come with their payloads, and no other claim gets them while the lease lasts
    assert [d.event_id for d in first] == [_event(1)["id"], _event(2)["id"]]
    assert all(d.payload and d.event_id in d.payload for d in first)
    assert hooks.claim(NOW + 59, lease_until=NOW + 120, token="b", limit=10) == []
    # And once it has ended (the holder died), another claim takes them, and the first
    # holder can no longer finish them
    second = hooks.claim(NOW + 61, lease_until=NOW + 120, token="b", limit=10)
    assert {d.id for d in second} == {d.id for d in first}
    d = first[0]
    stale = Attempt(d.id, d.event_id, d.endpoint_id, 1, NOW, 200, 1.0, None, "delivered")
    assert not hooks.finish(d, "a", stale, due_at=None)
    assert hooks.finish(d, "b", stale, due_at=None)
    ((row, attempts),) = hooks.deliveries(event_id=d.event_id)
    assert row.status == "delivered" and row.attempts == 1 and len(attempts) == 2


def test_claim_for_one_event_takes_only_its_deliveries(backend):
    # Given two events queued for two endpoints
    _, store = backend
    hooks = store.webhooks()
    hooks.add_endpoint(_endpoint("ep_a"))
    hooks.add_endpoint(_endpoint("ep_b"))
    _add_event(store, _event(1))
    _add_event(store, _event(2))
    # When the first event's deliveries are claimed
    claimed = hooks.claim(NOW, lease_until=NOW + 60, token="t", limit=10,
                          event_id=_event(1)["id"])  # fmt: skip
    # Then exactly its two deliveries come
    assert sorted(d.endpoint_id for d in claimed) == ["ep_a", "ep_b"]
    assert {d.event_id for d in claimed} == {_event(1)["id"]}


def test_disabling_an_endpoint_fails_its_pending_deliveries(backend):
    # Given a pending delivery
    _, store = backend
    hooks = store.webhooks()
    hooks.add_endpoint(_endpoint("ep_a"))
    _add_event(store, _event(1))
    # When the endpoint is disabled
    assert hooks.set_enabled("ep_a", False, at=NOW, reason="410 Gone")
    # Then the delivery failed with the reason, nothing is due, and it is listed as failed
    ((d, _),) = hooks.deliveries(failed=True)
    assert d.status == "failed" and "410 Gone" in d.last_error
    assert hooks.claim(NOW + 1, lease_until=NOW + 60, token="t", limit=10) == []
    assert not hooks.endpoint("ep_a").enabled
    # And enabling it again forgets the failure streak
    hooks.mark_endpoint("ep_a", ok=False, at=NOW)
    assert hooks.set_enabled("ep_a", True, at=NOW)
    ep = hooks.endpoint("ep_a")
    assert ep.enabled and ep.failing_since is None and ep.disabled_reason is None


def test_failure_streak_starts_at_the_first_failure_and_ends_on_success(backend):
    _, store = backend
    hooks = store.webhooks()
    hooks.add_endpoint(_endpoint("ep_a"))
    assert hooks.mark_endpoint("ep_a", ok=False, at=NOW) == NOW
    assert hooks.mark_endpoint("ep_a", ok=False, at=NOW + 5) == NOW
    assert hooks.mark_endpoint("ep_a", ok=True, at=NOW + 6) is None
    assert hooks.mark_endpoint("ep_a", ok=False, at=NOW + 7) == NOW + 7
    assert hooks.mark_endpoint("ep_missing", ok=False, at=NOW) is None
    assert hooks.endpoint("ep_missing") is None

"""The pure parts: signatures as the spec and its library compute them, the retry schedule,
secrets, times and settings."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from tests.webhooks.conftest import SECRET
from worker import Settings
from worker.config import parse_retry_schedule
from worker.deliver import retry_delay, sign, signature_header
from worker.subscriptions import check_secret, generate_secret, parse_duration, parse_time

BODY = b'{"test": 2432232314}'


def test_signature_matches_the_standard_webhooks_library():
    # the spec's own example: id, timestamp and body signed with its example secret
    ts = 1614265330
    expected = Webhook(SECRET).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(ts, UTC),
                                    BODY.decode())  # fmt: skip
    assert sign(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, BODY) == expected
    assert expected == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_header_lists_one_signature_per_secret():
    other = generate_secret()
    header = signature_header([SECRET, other], "msg_1", 1614265330, BODY)
    assert header.split(" ") == [sign(SECRET, "msg_1", 1614265330, BODY),
                                 sign(other, "msg_1", 1614265330, BODY)]  # fmt: skip


def test_retry_delay_follows_the_schedule_then_gives_up():
    schedule = parse_retry_schedule(Settings().webhook_retry_schedule_s)
    assert schedule == (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert sum(schedule) / 86400 == pytest.approx(3.15, abs=0.01)  # ~3 days of retries
    exact = [retry_delay(n, schedule, jitter=0, rng=random.Random(1)) for n in range(1, 11)]
    assert exact == [*schedule, None]


def test_retry_delay_jitter_stays_within_its_band():
    rng = random.Random(7)
    delays = [retry_delay(2, (5.0, 300.0), jitter=0.2, rng=rng) for _ in range(200)]
    assert all(240 <= d <= 360 for d in delays)
    assert len(set(delays)) > 100  # spread, not one value


def test_generated_secrets_are_valid_and_distinct():
    a, b = generate_secret(), generate_secret()
    assert a != b and check_secret(a) == a and a.startswith("whsec_")
    assert Webhook(a).sign("m", datetime.now(UTC), "x")  # the library accepts it


@pytest.mark.parametrize("bad", ["nope", "whsec_", "whsec_!!!!", "whsec_" + "QUJD" * 2])
def test_bad_secrets_are_refused_with_a_hint(bad):
    with pytest.raises(ValueError, match="whsec_ \\+ base64"):
        check_secret(bad)


def test_times_and_durations_parse():
    now = 1_747_300_000.0
    assert parse_time("2h", now=now) == now - 7200
    assert parse_time("2025-05-15T09:06:40Z", now=now) == now
    assert parse_time("2025-05-15T09:06:40", now=now) == now  # UTC unless it says
    assert parse_time(str(now), now=0) == now
    assert parse_duration("30m") == 1800
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday", now=now)


@pytest.mark.parametrize(
    "field, value",
    [("webhook_retry_schedule_s", "5,soon"), ("webhook_retry_schedule_s", ""),
     ("webhook_retry_schedule_s", "5,-1"), ("webhook_timeout_s", 0.0),
     ("webhook_disable_after_s", 0), ("webhook_retry_jitter", 1.5)],
)  # fmt: skip
def test_bad_webhook_settings_fail_at_boot_naming_the_value(field, value):
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})


def test_webhook_settings_read_from_the_environment():
    s = Settings.from_env({"WIREWATCH_WEBHOOK_RETRY_SCHEDULE_S": "1,2",
                           "WIREWATCH_WEBHOOK_TIMEOUT_S": "3.5"})  # fmt: skip
    assert parse_retry_schedule(s.webhook_retry_schedule_s) == (1, 2)
    assert s.webhook_timeout_s == 3.5

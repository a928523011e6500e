"""docs/webhooks.md's verification snippets, run against a real delivery."""

from __future__ import annotations

import re

import pytest

from tests.conftest import NOW, ROOT
from tests.webhooks.conftest import SECRET
from worker import Pipeline
from worker.deliver import Deliverer
from worker.subscriptions import new_endpoint

SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "webhooks.md").read_text(), re.S)


@pytest.fixture
def delivered(hook_settings, receiver, seed_docs):
    """One real request, as the receiver got it, of the first seed's event."""
    pipeline = Pipeline(hook_settings)
    store = pipeline.open_store()
    rx = receiver()
    store.webhooks().add_endpoint(new_endpoint(rx.url, settings=hook_settings, now=NOW,
                                               secret=SECRET))  # fmt: skip
    pipeline.ingest(seed_docs[0], store, now=NOW)
    with Deliverer(hook_settings, store.webhooks()) as deliverer:
        deliverer.deliver_due(NOW)
    store.close()
    (request,) = rx.requests
    return request


def test_the_standardwebhooks_snippet_verifies_a_delivery(delivered):
    scope = {"secret": SECRET, "body": delivered.body, "headers": delivered.headers}
    exec(SNIPPETS[0], scope)
    assert scope["event"]["id"] == delivered.webhook_id


def test_the_plain_hmac_snippet_verifies_a_delivery_and_refuses_a_forgery(delivered):
    scope: dict = {}
    exec(SNIPPETS[1], scope)
    verify = scope["verify"]
    assert verify(SECRET, delivered.headers, delivered.body)["id"] == delivered.webhook_id
    with pytest.raises(ValueError, match="no valid signature"):
        verify(SECRET, delivered.headers, delivered.body.replace(b"Russia", b"Prussia"))
    with pytest.raises(ValueError, match="no valid signature"):
        verify("whsec_" + "QUJD" * 8, delivered.headers, delivered.body)

"""The OpenAPI document checked against the running app with schemathesis: a few
deterministic examples per operation, with the token, on a real uvicorn server."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Served  # noqa: E402
from worker.api import create_app  # noqa: E402
from worker.config import Settings  # noqa: E402

# the document the server publishes; test_openapi_served_document_is_this_one checks that
schema = schemathesis.openapi.from_dict(create_app(Settings(db_path=":memory:")).openapi())


@pytest.fixture
def served(serve) -> Served:
    return serve(api_open_reads=1)


def test_openapi_served_document_is_this_one(served):
    assert served.client.get("/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@settings(max_examples=5, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_operations_conform(case, served):
    case.call_and_validate(
        base_url=served.url,
        headers=served.auth(),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )

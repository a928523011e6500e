"""Bearer-token checks: writes always need `api_token`; reads too unless `api_open_reads`."""

from __future__ import annotations

import hmac

from fastapi import Request

from worker.api.errors import ApiError
from worker.config import Settings

__all__ = ["require_read", "require_write"]


def _check(request: Request, settings: Settings) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <WIREWATCH_API_TOKEN>")
    # constant-time: the comparison must not tell an attacker how much of the token matched
    if not hmac.compare_digest(token.strip().encode(), settings.api_token.encode()):
        raise ApiError(403, "forbidden", "the bearer token is not valid")


def require_write(request: Request) -> None:
    """A dependency of every write endpoint."""
    settings: Settings = request.app.state.ctx.settings
    if not settings.api_token:
        raise ApiError(503, "writes_disabled",
                       "writes are disabled: set WIREWATCH_API_TOKEN to enable them")  # fmt: skip
    _check(request, settings)


def require_read(request: Request) -> None:
    """A dependency of every read endpoint: open with `api_open_reads`, else the token."""
    settings: Settings = request.app.state.ctx.settings
    if settings.api_open_reads:
        return
    if not settings.api_token:
        raise ApiError(503, "reads_disabled", "reads need WIREWATCH_API_TOKEN, or set "
                       "WIREWATCH_API_OPEN_READS=1 to open them")  # fmt: skip
    _check(request, settings)

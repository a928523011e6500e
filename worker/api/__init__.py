"""The HTTP API, dashboard and metrics endpoint (issue 6): `create_app(settings)`."""

from __future__ import annotations

from worker.api.app import create_app

__all__ = ["create_app"]

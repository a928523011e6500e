"""Every error the API answers is JSON: `{"error": {"code", "message"}}`, and this module is
where exceptions become that shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from worker.errors import TransientError

__all__ = ["ERROR_SCHEMA", "ApiError", "error_body", "error_responses", "install_handlers"]

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
          409: "conflict", 422: "invalid", 501: "not_implemented", 503: "unavailable"}  # fmt: skip


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses, all with the JSON error shape."""
    return {
        status: {
            "description": _CODES.get(status, "error").replace("_", " "),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for status in statuses
    }


class ApiError(Exception):
    """An answer other than success, with its HTTP status and machine-readable code."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}, **extra}


def install_handlers(app: FastAPI) -> None:
    """Route ApiError, TransientError (503), FastAPI's validation errors and Starlette's
    HTTP errors to JSON."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), exc.status,
                            headers=headers)  # fmt: skip

    @app.exception_handler(TransientError)
    async def _unavailable(_: Request, exc: TransientError) -> JSONResponse:
        # the store is busy or away for a moment: say so, and when to try again
        return JSONResponse(error_body(exc.reason, exc.message), 503,
                            headers={"Retry-After": "1"})  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return JSONResponse(error_body("invalid", message), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code,
                            headers=getattr(exc, "headers", None))  # fmt: skip

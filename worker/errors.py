"""The whole wirewatch exception tree.

    IngestError
    ├── TransientError        retry with backoff: timeouts, 5xx, 429, store busy
    └── PermanentError        never retry: log, record the rejection, move on
        ├── BadInput          unreadable, binary, oversized, undecodable or malformed input
        └── NotAnArticle      the input decoded but holds no article text
"""

from __future__ import annotations

__all__ = ["BadInput", "IngestError", "NotAnArticle", "PermanentError", "TransientError"]


class IngestError(Exception):
    """Base of every error wirewatch raises on purpose."""

    #: short machine-readable reason, recorded with rejections (``"binary"``, ``"too_large"``...)
    reason: str = "error"

    def __init__(self, message: str, *, reason: str | None = None, origin: str | None = None):
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.origin = origin

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class TransientError(IngestError):
    """Raised when retrying later may succeed (network, store busy)."""

    reason = "transient"


class PermanentError(IngestError):
    """Raised when the same input will always fail: record it and drop it."""

    reason = "permanent"


class BadInput(PermanentError):
    """Raised for input that cannot be read as an article payload at all."""

    reason = "bad_input"


class NotAnArticle(PermanentError):
    """Raised when the input decodes but extraction finds no article text."""

    reason = "not_an_article"

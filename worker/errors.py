"""The whole wirewatch exception tree.

IngestError
├── TransientError        retry with backoff: timeouts, 5xx, 429, store busy
│   └── FetchFailed       a fetch timed out, could not connect, or got 5xx/408/429
└── PermanentError        never retry: log, record the rejection, move on
    ├── BadInput          unreadable, binary, oversized, undecodable or malformed input
    │                     (a fetched body over the cap, a feed that does not parse)
    ├── NotAnArticle      the input decoded but holds no article text
    ├── FetchRefused      we will not fetch it: bad URL or scheme, non-public address,
    │                     too many or broken redirects
    └── FetchRejected     the server answered 4xx (other than 408 and 429)

CorrectionRefused         an operator's correction (merge, split, "not new") cannot be
                          made: `code` is not_found, conflict or invalid
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "CorrectionRefused",
    "FetchFailed",
    "FetchRefused",
    "FetchRejected",
    "IngestError",
    "NotAnArticle",
    "PermanentError",
    "TransientError",
]


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


class FetchFailed(TransientError):
    """Raised when a fetch timed out, could not connect, or the server answered 5xx, 408 or 429."""

    reason = "fetch_failed"

    def __init__(
        self,
        message: str,
        *,
        url: str,
        reason: str | None = None,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ):
        super().__init__(message, reason=reason, origin=url)
        self.url = url
        self.status_code = status_code
        self.retry_after_s = retry_after_s  # what the server asked for, when it said


class FetchRefused(PermanentError):
    """Raised when we will not fetch a URL: bad scheme or URL, non-public address, redirects."""

    reason = "fetch_refused"

    def __init__(self, message: str, *, url: str, reason: str | None = None):
        super().__init__(message, reason=reason, origin=url)
        self.url = url


class FetchRejected(PermanentError):
    """Raised for a 4xx other than 408/429, or a 3xx we cannot follow (reason ``http_<status>``)."""

    reason = "fetch_rejected"

    def __init__(self, message: str, *, url: str, status_code: int):
        super().__init__(message, reason=f"http_{status_code}", origin=url)
        self.url = url
        self.status_code = status_code


class CorrectionRefused(Exception):
    """Raised when an operator's correction cannot be made; nothing was changed.

    `code` says why: ``not_found`` (no such story, article or event), ``conflict`` (the
    store's state forbids it: the article is already alone) or ``invalid`` (the request
    itself makes no sense: a story merged into itself).
    """

    def __init__(self, code: str, message: str):
        if code not in ("not_found", "conflict", "invalid"):
            raise ValueError(f"unknown correction code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message

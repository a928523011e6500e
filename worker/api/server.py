"""Serving the app with uvicorn: `run(app, host=..., port=...)` (`wirewatch serve`).

uvicorn's h11 protocol answers a request head over its 16 KB buffer with 400 and closes at
once, with the rest of the head unread: the client, still sending, gets a connection reset
instead of an answer. `HeadLimitProtocol` answers 431 (Request Header Fields Too Large) in
the API's JSON error shape, then reads and drops the rest of the head before closing, so the
client reads the answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from worker.api.errors import error_body

__all__ = ["MAX_HEAD_BYTES", "HeadLimitProtocol", "config", "run"]

logger = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024  # request line and headers; nginx allows 32 KB, Node 16 KB
DRAIN_MAX_BYTES = 16 * 1024 * 1024  # past this much of a refused head, just close
DRAIN_TIMEOUT_S = 10.0
_END = b"\r\n\r\n"


class HeadLimitProtocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head limit that answers 431."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # of the request head being received
        self._tail = b""  # its last bytes: the end marker may span two reads
        self._draining = False
        self._drained = 0

    def data_received(self, data: bytes) -> None:
        if self._draining:
            self._drain(data)
            return
        if self.conn.their_state is h11.IDLE:  # between requests: a head is arriving
            seen = self._tail + data
            end = seen.find(_END)
            size = self._head_bytes + (end - len(self._tail) if end >= 0 else len(data))
            if size > self.max_head_bytes:
                self._refuse(size)
                self._drain(data)
                return
            self._head_bytes = 0 if end >= 0 else size
            self._tail = b"" if end >= 0 else seen[-(len(_END) - 1) :]
        super().data_received(data)

    def _refuse(self, size: int) -> None:
        logger.warning("refused a request head over %d bytes", self.max_head_bytes)
        body = json.dumps(error_body(
            "header_too_large",
            f"request line and headers are over {self.max_head_bytes} bytes",
        )).encode()  # fmt: skip
        head = (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self._draining = True
        self._tail = b""
        self.loop.call_later(DRAIN_TIMEOUT_S, self._close)

    def _drain(self, data: bytes) -> None:
        """Drop the rest of the refused head; close once it ended (or was too long)."""
        self._drained += len(data)
        seen = self._tail + data
        if _END in seen or self._drained > DRAIN_MAX_BYTES:
            self._close()
            return
        self._tail = seen[-(len(_END) - 1) :]

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def config(app: Any, *, host: str, port: int, **kwargs: Any) -> uvicorn.Config:
    """uvicorn's Config with the head limit (h11's own buffer set above it)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=HeadLimitProtocol,
        h11_max_incomplete_event_size=2 * MAX_HEAD_BYTES,
        **kwargs,
    )


def run(app: Any, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve `app` until interrupted."""
    uvicorn.Server(config(app, host=host, port=port, log_level=log_level)).run()

"""Reading a response body: inflated, capped while streaming, within the deadline."""

from __future__ import annotations

import time
import zlib

import httpx

from worker.config import Settings
from worker.errors import BadInput, FetchFailed

__all__ = ["ACCEPT_ENCODING", "deadline_passed", "read_body"]

# We inflate bodies ourselves (see _Inflater), so we ask only for what we can inflate.
ACCEPT_ENCODING = "gzip, deflate"


def read_body(response: httpx.Response, url: str, settings: Settings, deadline: float) -> bytes:
    """The inflated body; BadInput ``too_large`` past `settings.fetch_max_bytes`, on the wire
    or after decompression, and FetchFailed ``deadline`` once the monotonic `deadline` passes.
    """
    cap = settings.fetch_max_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(url, cap, f"Content-Length is {int(declared)} bytes")
    inflater = _Inflater(response.headers.get("content-encoding", ""), url, cap)
    body = bytearray()
    wire = 0
    for chunk in response.iter_raw():
        wire += len(chunk)
        if wire > cap:
            raise _too_large(url, cap, f"over {cap} bytes on the wire")
        body += inflater.inflate(chunk, cap - len(body))
        if time.monotonic() > deadline:
            raise deadline_passed(url, settings)
    body += inflater.flush(cap - len(body))
    return bytes(body)


class _Inflater:
    """gzip/deflate with zlib's max_length: memory stays within the cap whatever the ratio.

    httpx's own decoders inflate each network chunk whole (64 KB of a gzip bomb is 64 MB).
    """

    def __init__(self, encoding: str, url: str, cap: int) -> None:
        self.url = url
        self.cap = cap
        self.encoding = encoding.strip().lower()
        wbits = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16,
                 "deflate": zlib.MAX_WBITS}.get(self.encoding)  # fmt: skip
        if wbits is None and self.encoding not in ("", "identity"):
            raise BadInput(
                f"GET {url}: Content-Encoding {encoding!r} was not asked for ({ACCEPT_ENCODING})",
                reason="bad_compression",
                origin=url,
            )
        self._z = None if wbits is None else zlib.decompressobj(wbits)
        self._raw_deflate_tried = False

    def inflate(self, data: bytes, room: int) -> bytes:
        """Inflate `data`; BadInput when that makes more than `room` bytes."""
        if self._z is None:
            out = data
        else:
            try:
                out = self._z.decompress(data, room + 1)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._raw_deflate_tried:
                    # some servers send raw deflate without the zlib header (httpx does the same)
                    self._raw_deflate_tried = True
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    return self.inflate(data, room)
                raise BadInput(
                    f"GET {self.url}: {self.encoding} body does not inflate: {exc}",
                    reason="bad_compression",
                    origin=self.url,
                ) from exc
            self._raw_deflate_tried = True  # the first chunk decided the format
        if len(out) > room:
            raise _too_large(self.url, self.cap, "after decompression")
        return out

    def flush(self, room: int) -> bytes:
        if self._z is None:
            return b""
        out = self._z.flush()
        if len(out) > room:
            raise _too_large(self.url, self.cap, "after decompression")
        return out


def deadline_passed(url: str, settings: Settings) -> FetchFailed:
    """The error for a fetch still not done at its deadline (a slow drip, or slow hops)."""
    return FetchFailed(
        f"GET {url}: not done within fetch_deadline_s={settings.fetch_deadline_s:g}",
        url=url,
        reason="deadline",
    )


def _too_large(url: str, cap: int, detail: str) -> BadInput:
    return BadInput(
        f"GET {url}: body over fetch_max_bytes={cap} ({detail}); stopped reading",
        reason="too_large",
        origin=url,
    )

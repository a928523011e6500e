"""Inputs from the edge: files, directories, JSON (Lines) and stdin, read into Documents.

Every input yields exactly one item, in order: a Document, or the PermanentError that says
why it cannot be one. Nothing is skipped silently.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from worker.errors import BadInput, PermanentError
from worker.models import Document

__all__ = ["decode", "expand_paths", "from_object", "read_inputs"]

Item = tuple[str, Document | PermanentError]

_HTML_SNIFF = re.compile(rb"<(?:!doctype\s+html|html|head|body|article|p|div)[\s>]", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_HTML_EXT = {".html", ".htm", ".xhtml"}
_JSON_EXT = {".json", ".jsonl", ".ndjson"}
_CONTROL = set(range(0, 9)) | {11, 12} | set(range(14, 32))


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Paths as given; a directory becomes its files, recursively, sorted, hidden ones skipped."""
    for p in paths:
        path = Path(p)
        if p != "-" and path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path).parts
                if f.is_file() and not any(part.startswith(".") for part in rel):
                    yield str(f)
        else:
            yield p


def read_inputs(paths: Iterable[str], *, stdin: IO[bytes], max_bytes: int) -> Iterator[Item]:
    """One (origin, Document-or-error) per input; JSON Lines give one per line."""
    for origin in expand_paths(paths):
        try:
            data = _read(origin, stdin, max_bytes)
            yield from _documents(origin, data)
        except PermanentError as exc:
            yield origin, exc


def _read(origin: str, stdin: IO[bytes], max_bytes: int) -> bytes:
    if origin == "-":
        data = stdin.read(max_bytes + 1)
    else:
        path = Path(origin)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise BadInput(
                    f"{size} bytes is over max_input_bytes={max_bytes}", reason="too_large"
                )
            data = path.read_bytes()[: max_bytes + 1]
        except FileNotFoundError:
            raise BadInput("no such file", reason="unreadable") from None
        except OSError as exc:
            raise BadInput(f"cannot read: {exc.strerror}", reason="unreadable") from exc
    if len(data) > max_bytes:
        raise BadInput(f"over max_input_bytes={max_bytes}", reason="too_large")
    if not data.strip():
        raise BadInput("empty input", reason="empty")
    return data


def _documents(origin: str, data: bytes) -> Iterator[Item]:
    suffix = Path(origin).suffix.lower() if origin != "-" else ""
    head = data.lstrip()[:1]
    if suffix in _JSON_EXT or (not suffix and head in (b"{", b"[")):
        yield from _json_documents(origin, decode(data))
    elif suffix in _HTML_EXT or _HTML_SNIFF.search(data[:4096]):
        yield origin, Document(origin, decode(data, html=True), "html")
    else:
        yield origin, Document(origin, decode(data), "text")


def decode(data: bytes, *, html: bool = False, charset: str | None = None) -> str:
    """Bytes to text: the `charset` given (an HTTP header's), else the one an HTML page
    declares, else UTF-8 (BOM-aware).

    Binary data and undecodable text are rejected with the offset that failed.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadInput(f"invalid UTF-16 at byte {exc.start}", reason="bad_encoding") from exc
    sample = data[:8192]
    if b"\x00" in sample or sum(b in _CONTROL for b in sample) > len(sample) * 0.05:
        raise BadInput("binary data, not text", reason="binary")
    declared = charset
    if declared is None and html and (m := _META_CHARSET.search(data[:4096])):
        declared = m.group(1).decode("ascii", "replace").lower()
    charset = "utf-8-sig"
    if declared:
        try:
            charset = codecs.lookup(declared).name
        except LookupError:
            pass  # an unknown declared charset: UTF-8 is still the best guess
    try:
        return data.decode(charset)
    except UnicodeDecodeError as exc:
        name = charset.upper().replace("-SIG", "")
        raise BadInput(f"invalid {name} at byte {exc.start}", reason="bad_encoding") from exc


def _json_documents(origin: str, text: str) -> Iterator[Item]:
    stripped = text.strip()
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped.startswith("{") and "\n" in stripped:  # JSON Lines
            yield from _json_lines(origin, text)
            return
        raise BadInput(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", reason="bad_json"
        ) from exc
    if isinstance(whole, list):
        for i, obj in enumerate(whole, 1):
            yield _from_object(f"{origin}:{i}", obj)
    else:
        yield _from_object(origin, whole)


def _json_lines(origin: str, text: str) -> Iterator[Item]:
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON: {exc.msg} at column {exc.colno}"
            yield where, BadInput(message, reason="bad_json")
            continue
        yield _from_object(where, obj)


def _from_object(origin: str, obj: Any) -> Item:
    if not isinstance(obj, dict):
        message = f"expected a JSON object, got {type(obj).__name__}"
        return origin, BadInput(message, reason="bad_json")
    fields = {k: obj.get(k) for k in ("url", "title", "published_at", "source")}
    for k, v in fields.items():
        if v is not None and not isinstance(v, str):
            return origin, BadInput(f"field {k!r} must be a string", reason="bad_json")
    html, text = obj.get("html"), obj.get("text")
    if isinstance(html, str) and html.strip():
        return origin, Document(origin, html, "html", **fields)
    if isinstance(text, str) and text.strip():
        return origin, Document(origin, text, "text", **fields)
    return origin, BadInput("object needs a non-empty 'text' or 'html' string", reason="bad_json")


def from_object(origin: str, obj: Any) -> Item:
    """One parsed JSON article object to a Document, or the BadInput that says why not.

    The HTTP API's JSON body (issue 6) takes the same fields as a `.json` input file.
    """
    return _from_object(origin, obj)

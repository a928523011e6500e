"""Inputs from the edge: files, directories, JSON (Lines) and stdin, read into Documents.

Every input yields exactly one item, in order: a Document, or the PermanentError that says
why it cannot be one. Nothing is skipped silently.

JSON Lines are read line by line, never whole, and each line is an input of its own
(``path:LINE``) under `max_input_bytes`: a `.jsonl` or `.ndjson` file, a `.json` file over the
cap whose first line is a JSON object, and stdin whose first two lines are. A line over the
cap is rejected (``too_large``) without being held in memory, and the lines after it go on.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from worker.errors import BadInput, PermanentError
from worker.json_articles import JsonLimits, parse_json
from worker.json_articles import from_object as _from_object
from worker.models import Document

__all__ = ["decode", "expand_paths", "from_object", "read_inputs"]

Item = tuple[str, Document | PermanentError]

_HTML_SNIFF = re.compile(rb"<(?:!doctype\s+html|html|head|body|article|p|div)[\s>]", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_HTML_EXT = {".html", ".htm", ".xhtml"}
_JSON_EXT = {".json", ".jsonl", ".ndjson"}
_JSON_LINES_EXT = {".jsonl", ".ndjson"}
_CONTROL = set(range(0, 9)) | {11, 12} | set(range(14, 32))
_SKIP_CHUNK = 1 << 20  # the rest of an over-long line is read and dropped this much at a time


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


def read_inputs(
    paths: Iterable[str],
    *,
    stdin: IO[bytes],
    max_bytes: int,
    limits: JsonLimits | None = None,
) -> Iterator[Item]:
    """One (origin, Document-or-error) per input; JSON Lines give one per line.

    `max_bytes` caps each input (each line of JSON Lines); `limits` are the JSON limits
    (nesting depth, field length; `JsonLimits()` when None).
    """
    limits = limits or JsonLimits()
    for origin in expand_paths(paths):
        try:
            yield from _items(origin, stdin, max_bytes, limits)
        except PermanentError as exc:
            yield origin, exc


def from_object(origin: str, obj: Any, limits: JsonLimits | None = None) -> Item:
    """One parsed JSON article object to a Document, or the BadInput that says why not.

    The HTTP API's JSON body (issue 6) takes the same fields as a `.json` input file.
    """
    return _from_object(origin, obj, limits or JsonLimits())


def _items(origin: str, stdin: IO[bytes], max_bytes: int, limits: JsonLimits) -> Iterator[Item]:
    if origin == "-":
        yield from _stdin_items(stdin, max_bytes, limits)
        return
    path = Path(origin)
    suffix = path.suffix.lower()
    try:
        if suffix in _JSON_LINES_EXT or (suffix == ".json" and _over(path, max_bytes)):
            with path.open("rb") as f:
                if suffix in _JSON_LINES_EXT or _first_object_line(f, max_bytes, limits):
                    f.seek(0)
                    lines: IO[Any] = f
                    if f.peek(2)[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                        lines = io.TextIOWrapper(f, encoding="utf-16", newline="")
                    yield from _json_lines(origin, lines, max_bytes, limits)
                    return
    except FileNotFoundError:
        raise BadInput("no such file", reason="unreadable") from None
    except (OSError, UnicodeDecodeError) as exc:
        message = exc.strerror if isinstance(exc, OSError) else f"invalid UTF-16: {exc.reason}"
        raise BadInput(f"cannot read: {message}", reason="unreadable") from exc
    yield from _documents(origin, _read(origin, max_bytes), limits)


def _over(path: Path, max_bytes: int) -> bool:
    return path.stat().st_size > max_bytes


def _stdin_items(stdin: IO[bytes], max_bytes: int, limits: JsonLimits) -> Iterator[Item]:
    """Stdin as one input, or as JSON Lines when its first two non-blank lines are objects."""
    head = stdin.readline(max_bytes + 1)
    if head.lstrip()[:1] == b"{" and head.endswith(b"\n"):
        second = b""
        while not second.strip() and len(second) <= max_bytes:  # blank lines may sit between
            line = stdin.readline(max_bytes + 1)
            if not line:
                break
            second += line
        if _is_object_line(head, limits) and _is_object_line(second, limits):
            replay: Any = _Replay(head + second, stdin)
            yield from _json_lines("-", replay, max_bytes, limits)
            return
        head += second
    data = head + stdin.read(max(0, max_bytes + 1 - len(head)))
    yield from _documents("-", _checked(data, max_bytes), limits)


def _read(origin: str, max_bytes: int) -> bytes:
    path = Path(origin)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInput(f"{size} bytes is over max_input_bytes={max_bytes}", reason="too_large")
        data = path.read_bytes()[: max_bytes + 1]
    except FileNotFoundError:
        raise BadInput("no such file", reason="unreadable") from None
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror}", reason="unreadable") from exc
    return _checked(data, max_bytes)


def _checked(data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise BadInput(f"over max_input_bytes={max_bytes}", reason="too_large")
    if not data.strip():
        raise BadInput("empty input", reason="empty")
    return data


def _documents(origin: str, data: bytes, limits: JsonLimits) -> Iterator[Item]:
    suffix = Path(origin).suffix.lower() if origin != "-" else ""
    head = data.lstrip()[:1]
    if suffix in _JSON_EXT or (not suffix and head in (b"{", b"[")):
        yield from _json_documents(origin, decode(data), limits)
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


def _json_documents(origin: str, text: str, limits: JsonLimits) -> Iterator[Item]:
    """A whole JSON input: one object, a list of them, or JSON Lines held in memory."""
    stripped = text.strip()
    try:
        whole = parse_json(stripped, limits)
    except BadInput as exc:
        # JSON Lines: a bad line is rejected alone. Too deep: only when the first line is an
        # object, or each line of a deep pretty-printed document would be rejected alone
        first = stripped.split("\n", 1)[0]
        lines = stripped.startswith("{") and "\n" in stripped
        if lines and (exc.reason != "too_deep" or _is_object_line(first, limits)):
            yield from _json_lines(origin, io.StringIO(text), len(text) + 1, limits)
            return
        raise
    if isinstance(whole, list):
        for i, obj in enumerate(whole, 1):
            yield _from_object(f"{origin}:{i}", obj, limits)
    else:
        yield _from_object(origin, whole, limits)


def _json_lines(origin: str, f: IO[Any], max_bytes: int, limits: JsonLimits) -> Iterator[Item]:
    """Each non-blank line of `f` (bytes, or text) as its own input `origin:LINE`."""
    for lineno, line in enumerate(_lines(f, max_bytes), 1):
        where = f"{origin}:{lineno}"
        if line is None:
            yield where, BadInput(f"line is over max_input_bytes={max_bytes}", reason="too_large")
            continue
        if not line.strip():
            continue
        try:
            obj = parse_json(line if isinstance(line, str) else decode(line), limits)
        except BadInput as exc:
            yield where, exc
            continue
        yield _from_object(where, obj, limits)


def _lines(f: IO[Any], cap: int) -> Iterator[Any]:
    """The lines of `f` without their newline, each read at most `cap + 1` bytes (or
    characters) at a time; None for a line over `cap`, whose rest is read and dropped."""
    while True:
        line = f.readline(cap + 1)
        if not line:
            return
        newline = "\n" if isinstance(line, str) else b"\n"
        if line.endswith(newline):
            yield line[:-1]
        elif len(line) <= cap:
            yield line  # the last line, without a newline
        else:
            while (rest := f.readline(_SKIP_CHUNK)) and not rest.endswith(newline):
                pass
            yield None


def _first_object_line(f: IO[bytes], max_bytes: int, limits: JsonLimits) -> bytes | None:
    """The first line of `f` when it is a whole JSON object (JSON Lines), else None."""
    line = f.readline(max_bytes + 1)
    return line if line.endswith(b"\n") and _is_object_line(line, limits) else None


def _is_object_line(line: bytes | str, limits: JsonLimits) -> bool:
    stripped = line.strip()
    if stripped[:1] not in (b"{", "{"):
        return False
    try:
        text = stripped if isinstance(stripped, str) else decode(stripped)
        return isinstance(parse_json(text, limits), dict)
    except BadInput:
        return False


class _Replay:
    """Lines already read from a stream, then the rest of it (stdin, once peeked at)."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head, self._rest = io.BytesIO(head), rest

    def readline(self, size: int = -1) -> bytes:
        line = self._head.readline(size)
        if not line or (not line.endswith(b"\n") and not 0 <= size <= len(line)):
            line += self._rest.readline(size - len(line) if size >= 0 else -1)
        return line

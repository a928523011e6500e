"""JSON article payloads parsed under limits: nesting depth, number size, field length.

A `.json`/`.jsonl` input, a JSON Lines line and the HTTP API's JSON body all go through
`parse_json` and `from_object`, so every path refuses the same things with the same reasons:

- ``too_deep``: nested deeper than `max_depth` (an article object is 1 deep, a list of them
  2). Checked by a scan of the brackets before parsing, so 100,000 levels are refused without
  building them (or hitting the interpreter's recursion limit);
- ``bad_json``: not JSON, or a number too long for an int (Python's 4,300-digit limit);
- ``field_too_long``: a metadata field (url, title, published_at, source) longer than
  `max_field_chars` (the text or HTML is bounded by `max_input_bytes` instead).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from worker.errors import BadInput
from worker.models import Document

__all__ = [
    "MAX_FIELD_CHARS",
    "MAX_JSON_DEPTH",
    "JsonLimits",
    "from_object",
    "nesting_depth",
    "parse_json",
]

MAX_JSON_DEPTH = 32  # article objects are 1-3 deep; nothing legitimate nests 32 levels
MAX_FIELD_CHARS = 10_000  # a URL, title or source longer than this is not metadata
_FIELDS = ("url", "title", "published_at", "source")
# A string (escapes included) or a bracket: brackets inside strings do not count. The string
# pattern is the unrolled loop, linear in the string's length.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """What one JSON payload may hold."""

    max_depth: int = MAX_JSON_DEPTH
    max_field_chars: int = MAX_FIELD_CHARS

    @classmethod
    def from_settings(cls, settings: Any) -> JsonLimits:
        """`max_json_depth` and `max_field_chars` of the settings, else the defaults."""
        return cls(
            max_depth=settings.max_json_depth,
            max_field_chars=settings.max_field_chars,
        )


def nesting_depth(text: str, *, stop_above: int | None = None) -> int:
    """The deepest bracket nesting of JSON text (strings skipped), in one linear pass.

    With `stop_above`, returns as soon as the depth passes it (a value above `stop_above`).
    """
    depth = deepest = 0
    if "[" not in text and "{" not in text:
        return 0
    for m in _TOKEN.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif c in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, limits: JsonLimits = JsonLimits()) -> Any:
    """`json.loads` under `limits`; every failure is a BadInput with its reason."""
    if nesting_depth(text, stop_above=limits.max_depth) > limits.max_depth:
        raise BadInput(
            f"JSON nested deeper than max_json_depth={limits.max_depth}", reason="too_deep"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", reason="bad_json"
        ) from exc
    except RecursionError as exc:  # a depth the scan did not see (it cannot, but never crash)
        raise BadInput("JSON nested too deeply to parse", reason="too_deep") from exc
    except ValueError as exc:  # e.g. an integer literal over Python's 4,300-digit limit
        raise BadInput(f"invalid JSON: {exc}", reason="bad_json") from exc


def from_object(
    origin: str, obj: Any, limits: JsonLimits = JsonLimits()
) -> tuple[str, Document | BadInput]:
    """One parsed JSON article object to a Document, or the BadInput that says why not.

    Fields: `url`, `title`, `published_at`, `source` (strings) and a non-empty
    `html` or `text`; other fields are ignored.
    """
    if not isinstance(obj, dict):
        message = f"expected a JSON object, got {type(obj).__name__}"
        return origin, BadInput(message, reason="bad_json")
    fields = {k: obj.get(k) for k in _FIELDS}
    for k, v in fields.items():
        if v is not None and not isinstance(v, str):
            return origin, BadInput(f"field {k!r} must be a string", reason="bad_json")
        if v is not None and len(v) > limits.max_field_chars:
            cap = limits.max_field_chars
            message = f"field {k!r} is {len(v)} characters, over max_field_chars={cap}"
            return origin, BadInput(message, reason="field_too_long")
    html, text = obj.get("html"), obj.get("text")
    if isinstance(html, str) and html.strip():
        return origin, Document(origin, html, "html", **fields)
    if isinstance(text, str) and text.strip():
        return origin, Document(origin, text, "text", **fields)
    return origin, BadInput("object needs a non-empty 'text' or 'html' string", reason="bad_json")

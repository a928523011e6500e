"""A fetched page as a Document: the bridge between `worker.fetch` and the pipeline."""

from __future__ import annotations

from worker.errors import BadInput
from worker.fetch import FetchResult
from worker.inputs import decode
from worker.models import Document

__all__ = ["page_document"]

_TEXT_TYPES = frozenset({"text/plain"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def page_document(result: FetchResult, *, origin: str) -> Document:
    """The page's body decoded (the Content-Type charset first, then the page's own meta tag).

    Raises:
        BadInput: a media type that is not a page (`not_a_page`), binary or undecodable body.
    """
    media = result.content_type
    if media is not None and media not in _HTML_TYPES | _TEXT_TYPES:
        raise BadInput(f"{result.url} is {media}, not an HTML or text page", reason="not_a_page")
    kind = "text" if media in _TEXT_TYPES else "html"
    body = decode(result.body, html=kind == "html", charset=result.charset)
    return Document(origin, body, kind, url=result.url)

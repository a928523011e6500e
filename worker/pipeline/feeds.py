"""Feed bytes -> ParsedFeed with feedparser, which only ever sees bytes in a BytesIO.

feedparser.parse() opens a str or bytes argument as a URL or a file path when it can, so the
body is always wrapped. Entity declarations are refused before parsing: see _refuse_entities.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat

import feedparser  # type: ignore[import-untyped]
from feedparser.encodings import convert_to_utf8  # type: ignore[import-untyped]

from worker.errors import BadInput, NotAnArticle
from worker.models import Document
from worker.pipeline.urls import canonical_url

__all__ = [
    "FeedEntry",
    "ParsedFeed",
    "entry_document",
    "entry_link",
    "identifying_fragment",
    "parse_feed",
]

# feedparser's warnings: the feed parsed, but not quite as declared
_WARNINGS = {
    "CharacterEncodingOverride": "encoding_override",  # declared charset wrong; another worked
    "CharacterEncodingUnknown": "encoding_unknown",
    "NonXMLContentType": "non_xml_content_type",  # e.g. served as text/html
}
_FIRST_ELEMENT = re.compile(rb"<\w")
# Before the root element: the XML declaration, processing instructions, comments, a DOCTYPE
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S | re.I)
_ROOT = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_FEED_ROOTS = frozenset({b"rss", b"feed", b"rdf", b"channel"})  # local names, lower case
# feedparser repairs ill-formed XML with a regex parser whose cost grows with the tags: ~20 us
# each (450 KB of tag soup took 4 s). Real feeds have a tag per 30-50 bytes: 100,000 is ~4 MB.
MAX_REPAIRED_TAGS = 100_000
_TAG = re.compile(r"<[^>]*>")
_MARKUP = re.compile(r"<[a-zA-Z][^>]*>")
_CONTROL = frozenset(range(0, 9)) | {11, 12} | frozenset(range(14, 32))
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Fragments that name page furniture, not a part of the page an entry could be: the same
# article is linked with and without them ("#more-123" is WordPress's "read more" anchor).
_FURNITURE = re.compile(
    r"(?:main|content|main-content|top|article|story|comments|respond|more(?:-\d+)?)", re.I
)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the feed tells it."""

    guid: str | None  # RSS guid or Atom id
    link: str | None  # the key to deduplicate on: entry_link(raw_link, fragment)
    raw_link: str | None  # as the feed gives it (made absolute against the feed URL)
    title: str | None
    published_at: str | None  # ISO 8601 UTC, from the published (else updated) date
    author: str | None = None
    summary: str | None = None  # HTML, sanitised by feedparser
    content: str | None = None  # HTML, sanitised by feedparser
    source: str | None = None  # the entry's <source> title, else the feed's title
    fragment: str | None = None  # raw_link's fragment when it names a part of the page


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed. `bozo` records what feedparser tolerated; None when nothing was."""

    url: str
    title: str | None
    link: str | None
    ttl_s: int | None  # RSS <ttl>, minutes turned into seconds
    version: str | None  # feedparser's name for the format: "rss20", "atom10"...
    encoding: str | None  # the encoding the body was read with
    entries: tuple[FeedEntry, ...]
    bozo: str | None = None  # "ill_formed", "encoding_override", "non_xml_content_type"...
    bozo_message: str | None = None  # e.g. "undefined entity at line 3, column 12"

    @property
    def ill_formed(self) -> bool:
        """True when the XML was not well-formed and feedparser's lenient parser took over."""
        return self.bozo == "ill_formed"


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse RSS, Atom or RDF bytes; `content_type` is the Content-Type header as received.

    Relative links resolve against `url`. A wrong declared charset or an ill-formed document
    that still yields entries gives a ParsedFeed with `bozo` set.

    Raises:
        BadInput: ``empty``, ``binary``, ``feed_entities`` (declares XML entities: a feed bomb
            risk), ``feed_malformed`` (ill-formed, no entries, or too many tags to repair),
            ``not_a_feed`` (its root element is none of rss, feed, RDF),
            ``feed_parse_failed`` (the parser itself failed on the body).
    """
    if not body.strip():
        raise BadInput("empty feed body", reason="empty", origin=url)
    # application/xml when unknown: the encoding is then the XML declaration's, else UTF-8
    headers = {"content-type": content_type or "application/xml", "content-location": url}
    utf8 = convert_to_utf8(dict(headers), body, {})
    _refuse_binary(utf8, url)
    _refuse_entities(utf8, url)
    _refuse_non_feeds(utf8, url)
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=True,
            resolve_relative_uris=True,
        )
        bozo, message = _bozo(parsed)
        feed = parsed.get("feed", {})
        title = _text(feed, "title")
        entries = tuple(_entry(e, title) for e in parsed.get("entries", []))
    except Exception as exc:  # feedparser failing on this body must not stop the other feeds
        raise BadInput(
            f"the feed parser failed: {type(exc).__name__}: {str(exc)[:200]}",
            reason="feed_parse_failed",
            origin=url,
        ) from exc
    if not entries and not parsed.get("version") and not title:
        raise BadInput(
            "no RSS, Atom or RDF feed found in the body", reason="not_a_feed", origin=url
        )
    if bozo == "ill_formed" and not entries:
        raise BadInput(
            f"feed is not well-formed XML and yields no entries: {message}",
            reason="feed_malformed",
            origin=url,
        )
    return ParsedFeed(
        url=url,
        title=title,
        link=feed.get("link") or None,
        ttl_s=_ttl_s(feed.get("ttl")),
        version=parsed.get("version") or None,
        encoding=parsed.get("encoding") or None,
        entries=entries,
        bozo=bozo,
        bozo_message=message,
    )


def identifying_fragment(url: str | None) -> str | None:
    """The fragment of a link when it is part of an entry's identity, else None.

    A fragment names a place in a page: a comment (`post#comment-12`), a section of a log
    (`now.html#2025-05-15`), a post of a live blog. Entries that differ only there are
    different entries, and collapsing them loses all but the first. It is not identity when
    it is empty, carries parameters (`#xtor=RSS-3`, `#utm_source=feed`: tracking or page
    state) or names page furniture (`#main`, `#comments`, `#more-123`).
    """
    if not url or "#" not in url:
        return None
    fragment = url.split("#", 1)[1].strip()
    if not fragment or "=" in fragment or _FURNITURE.fullmatch(fragment):
        return None
    return fragment


def entry_link(url: str | None, fragment: str | None) -> str | None:
    """An entry's URL key: the canonical URL, with its identifying fragment when it has one."""
    canonical = canonical_url(url)
    if canonical is None or fragment is None:
        return canonical
    return f"{canonical}#{fragment}"


def entry_document(entry: FeedEntry, *, origin: str | None = None) -> Document:
    """The entry's own content (else its summary) as a Document, with the entry's metadata.

    For when the article page cannot be fetched or holds no article. Kind "html" when the
    body has markup, else "text" (extraction refuses HTML without markup).

    Raises:
        NotAnArticle: the entry has neither content nor summary.
    """
    body = entry.content if entry.content and entry.content.strip() else entry.summary
    where = origin or entry.raw_link or entry.guid or "feed entry"
    if not body or not body.strip():
        raise NotAnArticle(
            "the feed entry has neither content nor a summary", reason="feed_entry_empty",
            origin=where,
        )  # fmt: skip
    return Document(
        origin=where,
        body=body,
        kind="html" if _MARKUP.search(body) else "text",
        url=entry.raw_link,
        title=entry.title,
        published_at=entry.published_at,
        source=entry.source,
        author=entry.author,
    )


def _refuse_binary(utf8: bytes, url: str) -> None:
    # judged after conversion to UTF-8: a UTF-16 or UTF-32 feed is full of NUL bytes
    sample = utf8[:8192]
    if b"\x00" in sample or sum(b in _CONTROL for b in sample) > len(sample) * 0.05:
        raise BadInput("binary data, not a feed", reason="binary", origin=url)


def _refuse_entities(utf8: bytes, url: str) -> None:
    """Refuse any `<!ENTITY` declared before the first element.

    feedparser keeps the declared entities whose value is plain text and, when the XML is
    not well-formed, its lenient parser expands every reference with no limit: a 160 KB
    document (one 100 KB entity referenced 20,000 times) took 58 s and 5.7 GB. expat's own
    amplification limit only protects the strict parse. Feeds have no use for entities.
    """
    first = _FIRST_ELEMENT.search(utf8)
    head = utf8[: first.start()] if first else utf8
    count = head.upper().count(b"<!ENTITY")
    if count:
        raise BadInput(
            f"the feed declares {count} XML entit{'y' if count == 1 else 'ies'} (<!ENTITY): "
            "refused, since expanding them can take unbounded memory (a feed bomb)",
            reason="feed_entities",
            origin=url,
        )


def _refuse_non_feeds(utf8: bytes, url: str) -> None:
    """Refuse, before parsing, a body whose root is no feed element (an HTML page, tag soup)
    and ill-formed XML with more tags than the repairing parser takes in bounded time."""
    head, pos = utf8[:65536].removeprefix(b"\xef\xbb\xbf"), 0
    while (m := _PROLOG.match(head, pos)) and m.end() > pos:
        pos = m.end()
    root = _ROOT.match(head, pos)
    name = root.group(1).rsplit(b":", 1)[-1].lower() if root else None
    if name is not None and name not in _FEED_ROOTS:
        shown = name.decode("ascii", "replace")
        raise BadInput(
            f"no RSS, Atom or RDF feed found in the body (root element {shown!r})",
            reason="not_a_feed",
            origin=url,
        )
    tags = utf8.count(b"<")
    if tags > MAX_REPAIRED_TAGS and not _well_formed(utf8):
        raise BadInput(
            f"feed is not well-formed XML and has {tags} tags, over {MAX_REPAIRED_TAGS} to repair",
            reason="feed_malformed",
            origin=url,
        )


def _well_formed(utf8: bytes) -> bool:
    parser = expat.ParserCreate()
    try:
        parser.Parse(utf8, True)
    except expat.ExpatError:
        return False
    return True


def _bozo(parsed: Any) -> tuple[str | None, str | None]:
    if not parsed.get("bozo"):
        return None, None
    exc = parsed.get("bozo_exception")
    name = type(exc).__name__
    if name in _WARNINGS:
        return _WARNINGS[name], str(exc)
    if hasattr(exc, "getMessage"):  # xml.sax.SAXParseException
        return "ill_formed", (
            f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        )
    return "ill_formed", f"{name}: {exc}"


def _entry(e: Any, feed_title: str | None) -> FeedEntry:
    raw_link = e.get("link") or None
    source = e.get("source") or {}
    fragment = identifying_fragment(raw_link)
    return FeedEntry(
        guid=e.get("id") or None,
        link=entry_link(raw_link, fragment),
        raw_link=raw_link,
        title=_text(e, "title"),
        published_at=_iso(e.get("published_parsed") or e.get("updated_parsed")),
        author=(e.get("author_detail") or {}).get("name") or e.get("author") or None,
        summary=e.get("summary") or None,
        content=_content(e.get("content")),
        source=_text(source, "title") or feed_title or None,
        fragment=fragment,
    )


def _content(contents: Any) -> str | None:
    """The longest HTML content (an entry may carry several), else the longest of any type."""
    values = [c for c in contents or () if (c.get("value") or "").strip()]
    if not values:
        return None
    htmls = [c for c in values if c.get("type") in _HTML_TYPES] or values
    return str(max(htmls, key=lambda c: len(c["value"]))["value"])


def _text(d: Any, key: str) -> str | None:
    """A title as plain text: feedparser gives HTML when the feed declared it so."""
    value = d.get(key)
    if not value:
        return None
    if (d.get(f"{key}_detail") or {}).get("type") in _HTML_TYPES:
        value = html.unescape(_TAG.sub("", value))
    return " ".join(str(value).split()) or None


def _iso(parsed_time: Any) -> str | None:
    if not parsed_time:
        return None
    try:
        year, month, day, hour, minute, second = (int(v) for v in parsed_time[:6])
        when = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    return when.isoformat().replace("+00:00", "Z")


def _ttl_s(ttl: Any) -> int | None:
    try:
        minutes = int(str(ttl).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if minutes > 0 else None

"""OPML 2.0 subscription lists: read the feeds out of one, and write one out of ours.

Reading refuses entity declarations, as parse_feed does (an OPML file may come from anyone).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import formatdate

from worker.errors import BadInput

__all__ = ["OpmlFeed", "read_opml", "write_opml"]

_ENTITY = re.compile(rb"<!ENTITY", re.I)
INTERVAL_ATTR = "wirewatchInterval"  # ours: a feed's `--interval` in seconds


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One subscription: an outline with an `xmlUrl`."""

    url: str
    title: str | None = None
    interval_s: int | None = None


def read_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an `xmlUrl`, at any depth (categories nest them), in order, once.

    Raises:
        BadInput: not well-formed XML (`bad_opml`), not OPML (`not_opml`), or it declares
            entities (`feed_entities`).
    """
    if _ENTITY.search(data):
        raise BadInput("the OPML file declares XML entities: refused", reason="feed_entities")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadInput(f"not well-formed XML: {exc}", reason="bad_opml") from None
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise BadInput(f"not an OPML document (root element <{root.tag}>)", reason="not_opml")
    feeds: dict[str, OpmlFeed] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in feeds:
            continue
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        interval = outline.get(INTERVAL_ATTR, "")
        feeds[url] = OpmlFeed(url, title, int(interval) if interval.isdigit() else None)
    return list(feeds.values())


def write_opml(feeds: list[OpmlFeed], *, title: str = "wirewatch feeds", now: float) -> str:
    """An OPML 2.0 document listing `feeds` as `type="rss"` outlines."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = formatdate(now, usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attrs["title"] = feed.title
        if feed.interval_s:
            attrs[INTERVAL_ATTR] = str(feed.interval_s)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

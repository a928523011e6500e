"""Bound what one HTML page costs before trafilatura reads it.

trafilatura's cost is linear in what it reads, but some of what a page holds is read many times
or multiplied: a 5 MB `class` attribute is matched against dozens of patterns (3.6 s), an 8 MB
script is scanned by the metadata regexes (2.6 s), and a table is padded to its widest row (a
200-column header over 20,000 rows of 20 cells gave 7.7 M characters, 20 s and 1.1 GB). Ordinary
pages are left exactly as they are: every threshold is far above what articles hold, and what is
removed is what trafilatura drops anyway (scripts, styles, SVG) or would not call prose.
"""

from __future__ import annotations

from typing import Any

from worker.errors import BadInput

__all__ = ["MAX_ATTRIBUTE_CHARS", "MAX_BLOB_CHARS", "MAX_TABLE_CELLS", "bound_page"]

_Node = Any  # lxml.html.HtmlElement

MAX_BLOB_CHARS = 64_000  # a script, style or SVG larger than this is removed (not ld+json)
MAX_ATTRIBUTE_CHARS = 2_000  # longer attribute values (data: URIs, props blobs) are cut
MAX_TABLE_CELLS = 20_000  # rows x widest row: a data table past this is removed
# a page with more text than this many times the article cap holds no article we can find in
# bounded time (trafilatura reads ~1 MB of text a second)
PAGE_TEXT_FACTOR = 2
_BLOBS = ("script", "style", "svg")
_METADATA_SCRIPTS = ("application/ld+json", "application/settings+json")


def bound_page(tree: _Node, *, max_text_chars: int) -> None:
    """Trim `tree` in place; refuse a page whose text could not hold a bounded article.

    Raises:
        BadInput: ``article_too_long`` when the page's text (scripts and styles aside) is over
            `PAGE_TEXT_FACTOR` x `max_text_chars`.
    """
    doomed = []
    for el in tree.iter(_BLOBS):
        if el.get("type", "").strip().lower() in _METADATA_SCRIPTS:
            continue  # trafilatura and htmldate read metadata from these
        if len(el.text or "") > MAX_BLOB_CHARS or _size(el) > MAX_BLOB_CHARS:
            doomed.append(el)
    for table in tree.iter("table"):
        rows = table.findall(".//tr")
        if rows and len(rows) * max(len(r) for r in rows) > MAX_TABLE_CELLS:
            doomed.append(table)
    for el in doomed:
        _drop(el)
    for el in tree.iter():
        attrib = getattr(el, "attrib", None)  # comments and processing instructions have none
        if attrib:
            for name, value in attrib.items():
                if len(value) > MAX_ATTRIBUTE_CHARS:
                    attrib[name] = value[:MAX_ATTRIBUTE_CHARS]
    chars = len(tree.text_content())
    if chars > PAGE_TEXT_FACTOR * max_text_chars:
        raise BadInput(
            f"the page holds {chars} characters of text, over {PAGE_TEXT_FACTOR} x "
            f"max_article_chars={max_text_chars}",
            reason="article_too_long",
        )


def _size(el: _Node) -> int:
    """Characters of text inside an element, stopping early past the blob cap."""
    total = 0
    for text in el.itertext():
        total += len(text)
        if total > MAX_BLOB_CHARS:
            break
    return total


def _drop(el: _Node) -> None:
    """Remove an element and its content, keeping the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)

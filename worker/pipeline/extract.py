"""HTML -> Article: main text and metadata with trafilatura; no text -> NotAnArticle.

Options and heuristics are measured with `bench/extraction.py` (Zyte article-extraction benchmark).
"""

from __future__ import annotations

import functools
import re
from configparser import ConfigParser
from typing import Any, TypeAlias

from trafilatura import bare_extraction, load_html
from trafilatura.meta import reset_caches as _trafilatura_reset_caches
from trafilatura.settings import Document, use_config
from trafilatura.xml import delete_element, xmltotxt

from worker.errors import BadInput, NotAnArticle
from worker.models import Article

__all__ = ["extract_html", "make_config", "reset_caches"]

# lxml.html.HtmlElement / lxml.etree._Element: lxml ships no type hints (lxml-stubs is not a dep)
_Node: TypeAlias = Any

# A precision-mode result shorter than this is suspicious: precision mode skips trafilatura's own
# rescue cascade (baseline, recall escalation), so we re-run in balanced mode. The re-run adds
# F1 +0.005 on the benchmark, the same for 500-2000; at 1000 it runs on about 1 page in 10.
_SHORT_TEXT_CHARS = 1000
# Accept the balanced re-run only if it is clearly longer: trafilatura's ESCALATION_ACCEPT_RATIO.
_RETRY_ACCEPT_RATIO = 1.5
# Related-story teasers (#584): a headline-sized block made mostly of the page's link texts.
# 0.8 is trafilatura's own link-density ratio (htmlprocessing.link_density_test). Dropping them
# adds F1 +0.002 on the benchmark (any max size from 150 to 400 chars within 0.001).
_TEASER_MAX_CHARS = 250
_TEASER_LINK_RATIO = 0.8
# Shorter link texts ("Home", "More") are navigation words that also occur inside prose.
_MIN_ANCHOR_CHARS = 10

_MARKUP_RE = re.compile(r"<[A-Za-z!?/]")
_DOCUMENT_RE = re.compile(r"<(?:html|head|body)[\s>]", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+")
_LANG_RE = re.compile(r"[a-z]{2,3}")
# where pages declare their language, in order of trust (trafilatura's check_html_lang reads these)
_LANG_XPATHS = (
    "/html/@lang",
    '//meta[@http-equiv="content-language" or @http-equiv="Content-Language"]/@content',
    '//meta[@property="og:locale"]/@content',
)


def make_config() -> ConfigParser:
    """Build trafilatura's settings for workers; build it once per process and pass it in.

    Defaults are kept except EXTRACTION_TIMEOUT=0: the timeout uses SIGALRM, which is not safe
    inside worker processes (and only applies to trafilatura's CLI file processing anyway).
    """
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


@functools.cache
def _default_config() -> ConfigParser:
    return make_config()


def reset_caches() -> None:
    """Release trafilatura's LRU caches (memory grows about 1 MB per page otherwise, #216).

    Call it every N pages from the worker loop; it also runs `gc.collect()`.
    """
    _trafilatura_reset_caches()


def extract_html(
    html: str,
    *,
    url: str | None = None,
    config: ConfigParser | None = None,
    min_chars: int = 200,
) -> Article:
    """Extract the main text and metadata of one HTML page.

    Runs trafilatura in precision mode without comments and with tables, re-runs it in balanced
    mode when the result is short, drops related-story teasers and a leading copy of the headline.
    Paragraphs are joined by blank lines. HTML fragments (no <html> tag) are accepted.

    Args:
        url: where the page was fetched; used for metadata. `Article.url` is the page's canonical
            URL when it declares one, else this.
        config: from `make_config()`; one built on first use when omitted.
        min_chars: shorter main texts raise NotAnArticle.

    Raises:
        BadInput: `reason="not_html"` when the input holds no markup at all (plain text belongs
            to the text path) or cannot be parsed.
        NotAnArticle: `reason="no_article_text"` when no main text of `min_chars` is found.
    """
    tree = _parse(html)
    config = config if config is not None else _default_config()
    anchors = _anchor_texts(tree)

    doc = _run(tree, url, config, precision=True, with_metadata=True)
    text = _body_text(doc, anchors)
    if len(text) < _SHORT_TEXT_CHARS:
        retry = _run(tree, url, config, precision=False, with_metadata=doc is None)
        if retry is not None and doc is not None:
            retry.title = doc.title  # for the headline check; metadata comes from the first run
        retry_text = _body_text(retry, anchors)
        if len(retry_text) > _RETRY_ACCEPT_RATIO * len(text):
            text = retry_text
            doc = doc or retry

    if doc is None or len(text) < min_chars:
        raise NotAnArticle(
            f"found {len(text)} characters of article text, need at least {min_chars}",
            reason="no_article_text",
            origin=url,
        )
    return Article(
        text=text,
        title=doc.title or None,
        url=doc.url or url,
        author=doc.author or None,
        published_at=doc.date or None,
        language=doc.language or _page_language(tree),
        site_name=doc.sitename or None,
    )


def _parse(html: str) -> _Node:
    if not _MARKUP_RE.search(html):
        raise BadInput("input holds no HTML markup", reason="not_html")
    # trafilatura's load_html rejects a fragment that parses into one element ("<p>..</p>"):
    # wrap pushed fragments (feed content) into a document
    if not _DOCUMENT_RE.search(html):
        html = f"<html><body>{html}</body></html>"
    tree = load_html(html)
    if tree is None:
        raise BadInput("HTML could not be parsed", reason="not_html")
    return tree


def _run(
    tree: _Node,
    url: str | None,
    config: ConfigParser,
    *,
    precision: bool,
    with_metadata: bool,
) -> Document | None:
    doc = bare_extraction(
        tree,  # copied by trafilatura, so the caller's tree stays intact for a re-run
        url=url,
        favor_precision=precision,
        include_comments=False,
        include_tables=True,  # measured: dropping tables loses recall (F1 -0.003)
        include_links=False,
        deduplicate=False,  # per-process LRU: wrong with N workers (#778); our dedup is the LSH
        with_metadata=with_metadata,
        config=config,
    )
    assert doc is None or isinstance(doc, Document)  # output_format="python" returns a Document
    return doc


def _body_text(doc: Document | None, anchors: frozenset[str]) -> str:
    """Main text with teasers and a leading headline removed, paragraphs joined by blank lines."""
    if doc is None or doc.body is None:
        return ""
    teasers = [el for el in doc.body.iter("p", "item", "head") if _is_teaser(el, anchors)]
    for element in teasers:
        delete_element(element)
    text = xmltotxt(doc.body, False) if teasers else (doc.text or "")
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    if paragraphs and doc.title and _words(paragraphs[0]) == _words(doc.title):
        paragraphs = paragraphs[1:]  # the headline is Article.title; the body repeats it often
    return "\n\n".join(paragraphs)


def _is_teaser(element: _Node, anchors: frozenset[str]) -> bool:
    parent = element.getparent()
    if parent is not None and parent.tag == "item":
        return False  # judged with its list item
    text = " ".join("".join(element.itertext()).split())
    if not text or len(text) > _TEASER_MAX_CHARS:
        return False
    link_chars = sum(len(a) for a in anchors if len(a) <= len(text) and a in text)
    return link_chars >= _TEASER_LINK_RATIO * len(text)


def _anchor_texts(tree: _Node) -> frozenset[str]:
    texts = (" ".join(a.text_content().split()) for a in tree.iter("a"))
    return frozenset(t for t in texts if len(t) >= _MIN_ANCHOR_CHARS)


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _page_language(tree: _Node) -> str | None:
    """Primary language subtag the page declares ("en-US" -> "en"), or None."""
    for xpath in _LANG_XPATHS:
        for value in tree.xpath(xpath):
            primary = re.split(r"[-_]", str(value).strip().lower(), maxsplit=1)[0]
            if _LANG_RE.fullmatch(primary):
                return primary
    return None

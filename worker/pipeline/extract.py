"""HTML -> Article: main text and metadata with trafilatura; no text -> NotAnArticle.

Options and heuristics are measured with `bench/extraction.py` (Zyte article-extraction benchmark).
"""

from __future__ import annotations

import functools
import logging
import re
from configparser import ConfigParser
from typing import Any, TypeAlias

from htmldate import find_date
from trafilatura import bare_extraction, load_html
from trafilatura import metadata as _metadata
from trafilatura.meta import reset_caches as _trafilatura_reset_caches
from trafilatura.settings import Document, set_date_params, use_config
from trafilatura.xml import delete_element, xmltotxt

from worker.errors import BadInput, NotAnArticle, PermanentError
from worker.models import Article
from worker.pipeline import facts
from worker.pipeline.page_limits import bound_page

__all__ = ["extract_html", "make_config", "reset_caches"]

logger = logging.getLogger(__name__)

# lxml.html.HtmlElement / lxml.etree._Element: lxml ships no type hints (lxml-stubs is not a dep)
_Node: TypeAlias = Any

# The first pass is precision mode with fast=True: trafilatura's main extractor alone, without
# the readability/justext comparison that costs about a third of `trafilatura.extract`. A result
# shorter than this is suspicious, so we re-run with trafilatura's whole balanced cascade
# (comparison, baseline, recall escalation). Measured on the benchmark: F1 0.950 without the
# re-run; 0.969 at 300, 0.974 at 500 and 700, 0.972 at 1000 (one page where balanced mode
# returns 3,900 characters of boilerplate). At 500 it runs on about 1 page in 20.
_SHORT_TEXT_CHARS = 500
# Accept the balanced re-run only if it is clearly longer: trafilatura's ESCALATION_ACCEPT_RATIO.
_RETRY_ACCEPT_RATIO = 1.5
# Related-story teasers (#584): a headline-sized block made mostly of the page's link texts.
# 0.8 is trafilatura's own link-density ratio (htmlprocessing.link_density_test). Dropping them
# adds F1 +0.002 on the benchmark (any max size from 150 to 400 chars within 0.001).
_TEASER_MAX_CHARS = 250
_TEASER_LINK_RATIO = 0.8
# Shorter link texts ("Home", "More") are navigation words that also occur inside prose.
_MIN_ANCHOR_CHARS = 10
_TEASER_TEST_BUDGET = 2_000_000  # link text x block tests per page (see _Anchors)

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

    Call it every N pages from the worker loop (the poller: after each feed); it also runs
    `gc.collect()`. htmldate logs an error for each of its functions without a cache on every
    call ("impossible to clear cache"): harmless, and silenced here.
    """
    quiet = logging.getLogger("htmldate.meta")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        _trafilatura_reset_caches()
    finally:
        quiet.setLevel(level)


def extract_html(
    html: str,
    *,
    url: str | None = None,
    config: ConfigParser | None = None,
    min_chars: int = 200,
) -> Article:
    """Extract the main text and metadata of one HTML page.

    Runs trafilatura's main extractor in precision mode without comments and with tables, re-runs
    its whole balanced cascade when the result is short, drops related-story teasers and a leading
    copy of the headline. Metadata is read once per page. Paragraphs are joined by blank lines.
    HTML fragments (no <html> tag) are accepted.

    Args:
        url: where the page was fetched; used for metadata. `Article.url` is the page's canonical
            URL when it declares one, else this.
        config: from `make_config()`; one built on first use when omitted.
        min_chars: shorter main texts raise NotAnArticle.

    Raises:
        BadInput: `reason="not_html"` when the input holds no markup at all (plain text belongs
            to the text path) or cannot be parsed; ``article_too_long`` for a page with far more
            text than an article (worker/pipeline/page_limits.py); ``extract_failed`` when the
            extractor itself fails on the page.
        NotAnArticle: `reason="no_article_text"` when no main text of `min_chars` is found.
    """
    try:
        return _extract(html, url, config, min_chars)
    except PermanentError:
        raise
    except Exception as exc:  # trafilatura, lxml or htmldate failing on this page (a bug of
        # theirs or a page they cannot take) must not stop the inputs after it
        logger.warning("extraction failed on %s: %r", url or "a page", exc)
        raise BadInput(
            f"HTML extraction failed: {type(exc).__name__}: {str(exc)[:200]}",
            reason="extract_failed",
            origin=url,
        ) from exc


def _extract(html: str, url: str | None, config: ConfigParser | None, min_chars: int) -> Article:
    tree = _parse(html)
    bound_page(tree, max_text_chars=facts.LIMITS.max_article_chars)
    config = config if config is not None else _default_config()
    meta = _page_metadata(tree, url, config)
    anchors = _anchor_texts(tree)

    text = _body_text(_run(tree, url, config, precision=True), anchors, meta.title)
    if len(text) < _SHORT_TEXT_CHARS:
        retry_text = _body_text(_run(tree, url, config, precision=False), anchors, meta.title)
        if len(retry_text) > _RETRY_ACCEPT_RATIO * len(text):
            text = retry_text

    if not text or len(text) < min_chars:
        raise NotAnArticle(
            f"found {len(text)} characters of article text, need at least {min_chars}",
            reason="no_article_text",
            origin=url,
        )
    return Article(
        text=text,
        title=meta.title or None,
        url=meta.url or url,
        author=meta.author or None,
        published_at=meta.date or None,
        language=_page_language(tree),
        site_name=meta.sitename or None,
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


def _run(tree: _Node, url: str | None, config: ConfigParser, *, precision: bool) -> Document | None:
    """Precision mode with the main extractor only, or the whole balanced cascade (the re-run)."""
    doc = bare_extraction(
        tree,  # copied by trafilatura, so the caller's tree stays intact for a re-run
        url=url,
        fast=precision,
        favor_precision=precision,
        include_comments=False,
        include_tables=True,  # measured: dropping tables loses recall (F1 -0.003)
        include_links=False,
        deduplicate=False,  # per-process LRU: wrong with N workers (#778); our dedup is the LSH
        with_metadata=False,  # _page_metadata, once per page
        config=config,
    )
    assert doc is None or isinstance(doc, Document)  # output_format="python" returns a Document
    return doc


def _page_metadata(tree: _Node, url: str | None, config: ConfigParser) -> Document:
    """Title, author, canonical URL, date and site name: trafilatura's `extract_metadata`
    without the categories, tags and licence, which an Article does not keep (a third of its
    cost). The steps and their order are trafilatura 2.3's; a test pins the fields to it.
    """
    meta = _metadata.examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # a one-word author tag is a handle or a site, not a byline
    meta = _metadata.extract_meta_json(tree, meta)
    meta.title = meta.title or _metadata.extract_title(tree)
    meta.author = meta.author or _metadata.extract_author(tree)
    meta.url = meta.url or _metadata.extract_url(tree, url)
    date_params = set_date_params(config.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
    meta.date = find_date(tree, **{**date_params, "url": meta.url})
    if not meta.sitename:
        meta.sitename = _metadata.extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")  # a Twitter handle
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url and (host := _metadata.META_URL.match(meta.url)):
        meta.sitename = host[1]
    meta.clean_and_trim()
    return meta


def _body_text(doc: Document | None, anchors: _Anchors, title: str | None) -> str:
    """Main text with teasers and a leading headline removed, paragraphs joined by blank lines."""
    if doc is None or doc.body is None:
        return ""
    teasers = [el for el in doc.body.iter("p", "item", "head") if _is_teaser(el, anchors)]
    for element in teasers:
        delete_element(element)
    text = xmltotxt(doc.body, False) if teasers else (doc.text or "")
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    if paragraphs and title and _words(paragraphs[0]) == _words(title):
        paragraphs = paragraphs[1:]  # the headline is Article.title; the body repeats it often
    return "\n\n".join(paragraphs)


def _is_teaser(element: _Node, anchors: _Anchors) -> bool:
    parent = element.getparent()
    if parent is not None and parent.tag == "item":
        return False  # judged with its list item
    text = " ".join("".join(element.itertext()).split())
    if not text or len(text) > _TEASER_MAX_CHARS:
        return False
    return anchors.chars_in(text) >= _TEASER_LINK_RATIO * len(text)


class _Anchors:
    """The page's link texts, and a budget of substring tests for the page's teaser checks.

    Each short block is tested against every link text, so a page with thousands of both cost
    their product (30,000 links and paragraphs took 100 s). Past `_TEASER_TEST_BUDGET` tests no
    block of the page is judged a teaser: far above any news page (2,000 links and 300 short
    blocks use 600,000), so only link farms keep their teasers.
    """

    def __init__(self, texts: frozenset[str]):
        self.texts = texts
        self.budget = _TEASER_TEST_BUDGET

    def chars_in(self, text: str) -> int:
        """Total length of the distinct link texts that occur in `text` (0 once over budget)."""
        if self.budget < len(self.texts):
            return 0
        self.budget -= len(self.texts)
        return sum(len(a) for a in self.texts if len(a) <= len(text) and a in text)


def _anchor_texts(tree: _Node) -> _Anchors:
    texts = (" ".join(a.text_content().split()) for a in tree.iter("a"))
    return _Anchors(frozenset(t for t in texts if len(t) >= _MIN_ANCHOR_CHARS))


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

"""Document -> Article -> Analysis: everything the store and matcher need, computed once."""

from __future__ import annotations

import hashlib
from collections import Counter
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from worker.errors import NotAnArticle
from worker.models import Article, Document, Sentence
from worker.pipeline.clean import clean_text
from worker.pipeline.extract import extract_html
from worker.pipeline.facts import article_sentences, vocabulary
from worker.pipeline.fingerprint import Signer, shingles
from worker.pipeline.salience import term_counts
from worker.pipeline.text import words
from worker.pipeline.urls import canonical_url

__all__ = ["Analysis", "analyse", "parse_time", "to_article"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """An article with its sentences, facts, terms and signatures."""

    article: Article
    sentences: tuple[Sentence, ...]
    content_hash: str  # sha1 of the normalised words: equal for byte-different copies
    canonical_url: str | None
    terms: Counter[str]
    vocabulary: frozenset[str]
    dup_signature: np.ndarray
    published_ts: float | None


def to_article(
    doc: Document, *, min_chars: int, extract_config: ConfigParser | None = None
) -> Article:
    """Extract the article of a document; metadata given with the input wins over extracted."""
    if doc.kind == "html":
        found = extract_html(doc.body, url=doc.url, config=extract_config, min_chars=min_chars)
    else:
        cleaned = clean_text(doc.body)
        text = "\n\n".join(cleaned.paragraphs)
        if len(text) < min_chars:
            raise NotAnArticle(
                f"{len(text)} characters of article text after removing boilerplate "
                f"(minimum {min_chars})",
                reason="no_article_text",
            )
        found = Article(text=text, title=cleaned.title)
    return Article(
        text=found.text,
        title=doc.title or found.title,
        url=doc.url or found.url,
        source=doc.source or found.source or found.site_name,
        author=doc.author or found.author,
        published_at=doc.published_at or found.published_at,
        language=found.language,
        site_name=found.site_name,
    )


def analyse(article: Article, signer: Signer) -> Analysis:
    """Sentences and fact units, term counts, vocabulary, content hash and signature."""
    sentences = article_sentences(article.paragraphs)
    # tokenised once: the article's words are its sentences' words (no word spans a boundary)
    sentence_words = [words(s.text) for s in sentences]
    all_words = [w for ws in sentence_words for w in ws]
    return Analysis(
        article=article,
        sentences=sentences,
        content_hash=hashlib.sha1(" ".join(all_words).encode()).hexdigest(),
        canonical_url=canonical_url(article.url),
        terms=term_counts(sentences, sentence_words),
        vocabulary=frozenset(vocabulary(sentences, sentence_words)),
        dup_signature=signer.sign(shingles(all_words)),
        published_ts=parse_time(article.published_at),
    )


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an ISO 8601 date or datetime (naive means UTC); None if unparsable."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()

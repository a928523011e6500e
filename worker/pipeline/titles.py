"""Titles for stories and storylines whose articles carry none (plain text, review splits)."""

from __future__ import annotations

__all__ = ["headline"]

MAX_CHARS = 100


def headline(first_sentence: str | None) -> str | None:
    """A title from an article's first sentence, cut at a word to at most 100 characters."""
    if not first_sentence or not first_sentence.strip():
        return None
    text = " ".join(first_sentence.split())
    if len(text) <= MAX_CHARS:
        return text
    return text[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "\u2026"

"""Sentence splitting: a careful regex (pysbd costs ~60x more for news prose)."""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

# Candidate boundary: terminal punctuation, optional closing quote/bracket, space, then
# something that can open a sentence. A match starts only at the first mark of a run, and the
# quantifiers are possessive (giving back a mark, closer or space can never make the rest
# match): otherwise every position of a long run of "." rescans the run, and 40 KB of dots
# took 22 s.
_BOUNDARY = re.compile(r"""(?<![.!?])([.!?]++["')\]]*+)\s++(?=["'(\[]?[A-Z0-9])""")
# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st gen col lt sgt capt cmdr adm gov sen rep rev hon pres
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    inc corp ltd co no nos vs etc approx dept est fig vol op al
    e.g i.e u.s u.k u.n a.m p.m""".split()
)
_LAST_WORD = re.compile(r"([\w.]+)\W*$")
# The last word before a period is looked for in this many characters before it: enough for
# any abbreviation with brackets or quotes around it, and the work per candidate boundary
# stays constant (searching from the sentence's start made a run of "Mr. Mr. ..." cubic:
# 40 KB took a minute).
_LAST_WORD_WINDOW = 24
# A quote longer than this is not recognised as one (facts._QUOTE), so never worth keeping whole.
_MAX_QUOTE_CHARS = 600


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences; never across paragraphs.

    A period after an abbreviation ("U.S.", "Gen.") or a single initial ("J.") is not a boundary,
    nor is one inside a quote that closes later in the paragraph.
    """
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        if m.group(1) == ".":
            last = _LAST_WORD.search(
                paragraph, max(start, m.start() - _LAST_WORD_WINDOW), m.start()
            )
            word = last.group(1).lower().rstrip(".") if last else ""
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        if _inside_quote(paragraph, start, m.end(1)):
            continue
        piece = paragraph[start : m.end(1)].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def _inside_quote(paragraph: str, start: int, end: int) -> bool:
    """Is `end` inside a quote opened after `start` and closed later in the paragraph?

    '"The violence must stop. The bloodshed must end now," Mr Ban said.' is one sentence: cut
    at "stop." it would leave two halves of a quote, neither recognised as one. A quote left
    open at the paragraph's end continues in the next paragraph (the wire convention), so its
    sentences split as usual.
    """
    return (
        end - start < _MAX_QUOTE_CHARS  # first: counting is then over at most that many
        and paragraph.count('"', start, end) % 2 == 1
        and paragraph.find('"', end) != -1
    )

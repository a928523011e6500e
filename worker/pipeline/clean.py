"""Plain-text article cleaner: drop pasted boilerplate (headline lists, teasers, forms, credits,
ratings, headings), find the title and rebuild paragraphs. Pure str/regex: no I/O, no clock."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CleanText", "clean_text"]


@dataclass(frozen=True, slots=True)
class CleanText:
    """One cleaned article: title, body paragraphs in order and every dropped line with a reason."""

    title: str | None
    paragraphs: tuple[str, ...]
    removed: tuple[tuple[str, str], ...]


# Zero-width characters and soft hyphens are invisible on the page but split words for tokenizers.
# Tested with `in` first: a substring scan is ~100x cheaper than translate() or a regex pass.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_DROP_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE))
# Bullet glyphs lead list items; the item is prose, the glyph is layout. "-"/"*" need a space so
# that "-5C" or "*Note" are left alone. (Escapes: several glyphs look like ASCII.)
_BULLET = re.compile(
    r"^(?:[\u2022\u25cf\u25e6\u25aa\u25ab\u2023\u2043\u2219\u00b7\u25a0\u25a1\u25ba\u25b6]\s*"
    r"|[-*+\u2013\u2014]\s+)"
)
# Closing quotes and brackets after the real last character of a line ('..."', "...)").
_CLOSERS = "\"')]\u201d\u2019\u00bb"
# A line ending in one of these finishes a sentence (or introduces a list): never joined onward.
_CLOSED_END = ".!?\u2026:"
# A heading may follow a finished sentence, but not a colon: what a colon introduces is content.
_SENTENCE_END = ".!?\u2026"
# Titles and other stories' headlines may end in "?" or "!", never in a stop, colon or comma.
_NOT_TITLE_END = ".\u2026:;,"
# A heading has no sentence punctuation, but may end in a colon ("Russia:").
_NOT_HEADING_END = ".!?\u2026;,"
# Any letter or digit: lines without one ("***", "—") are decoration.
_ALNUM = re.compile(r"[^\W_]")

# Teaser labels that introduce links to other stories (jusText/trafilatura keep similar lists).
_TEASER = (
    r"(?:also read|read also|read more|more to read|see also|further reading|must read"
    r"|related(?: stories| articles| news| coverage| content| topics| posts| reading)?"
    r"|recommended(?: stories| for you| reading)?|you (?:may|might) also like|don'?t miss"
    r"|more (?:stories|news|from [\w .'\u2019&-]{1,40})|trending(?: now| stories)?"
    r"|most (?:read|popular|viewed)|top stories|latest news|editor'?s picks?)"
)
# A teaser label standing alone ("Related Stories", "Read more »"): headlines follow it.
_TEASER_LABEL = re.compile(_TEASER + r"\s*[:\u00bb\u203a>]?", re.IGNORECASE)
# Whole-line boilerplate phrases, one named group per removal reason (matched with fullmatch, so
# a sentence that merely starts with "Read more" or "Share" is kept).
_LABEL_LINE = re.compile(
    r"(?P<also_read>" + _TEASER + r"(?:\s*[:\-\u2013\u2014|\u00bb\u203a>].*)?)"
    r"|(?P<nav>back to top|top of page|bottom of page|(?:go|scroll|return) to top"
    r"|skip to (?:main )?(?:content|navigation)|skip navigation|(?:main )?menu|toggle navigation"
    r"|search|home|close|(?:previous|next)(?: article| story| post)?|continue reading"
    r"|[\u2191\u21e7\u25b2]"
    r"|(?:click|tap) here\b.*|log ?in|sign in)"
    r"|(?P<comment_form>(?:leave|post|add|write) a (?:reply|comment)|comments?|\d+ comments?"
    r"|comments? \(\d+\)|no comments(?: yet)?|(?:view|show|load) comments|cancel reply|reply"
    r"|join the (?:conversation|discussion)|comments are closed\.?|be the first to comment\.?"
    r"|your email address will not be published\.?.*|required fields are marked.*"
    r"|(?:name|email|website|comment) ?\*|save my name,? email,? and website.*"
    r"|(?:post|submit) comment)"
    r"|(?P<share>share(?: this)?(?: article| story| post| page)?(?: (?:on|via|to) [\w ]{1,20})?"
    r"|facebook|twitter|linkedin|whatsapp|telegram|reddit|pinterest|email|print|tweet|pin it"
    r"|copy (?:link|url)|reuse this content|click to (?:share|email|print)\b.*"
    r"|follow us(?: on\b.*)?)"
    r"|(?P<newsletter>(?:sign[ -]?up|subscribe|get our|join our)\b.{0,150})"
    r"|(?P<advert>advertisement|sponsored(?: content)?|ad|promoted(?: content)?)",
    re.IGNORECASE,
)
# Image credits and licences in a caption-like line ("..., Public domain, via Wikimedia Commons"):
# substring tests on the lowercased line, far cheaper than a regex search.
_CREDIT_MARKERS = (
    "wikimedia commons", "public domain", "creative commons", "cc by", "cc-by", "getty images"
)  # fmt: skip
# Credit lines announced by their first words ("(Photo: ...)", "Image: ...", "Photo by X").
_CREDIT_START = re.compile(
    r"\(?(?:(?:photo|image|picture|pic|photograph|illustration|credit|file photo)s?"
    r"(?: credit| courtesy(?: of)?)?\s*[:/|]|(?:photo|image|picture|photograph|illustration)s?"
    r" (?:by|courtesy of)\b|(?:image source|image caption|media caption)\b)",
    re.IGNORECASE,
)
# Agency credits ("AP Photo/Name", "REUTERS/Name", "Name / Getty Images", "Pool via REUTERS").
_AGENCY_SLASH = re.compile(
    r"\b(?:ap|afp|epa|reuters|getty)(?: photo)?\s*/\s*\w"
    r"|/\s*(?:getty images|afp|ap|reuters|shutterstock|alamy|epa)\b"
    r"|\bvia (?:getty images|reuters|ap|afp|epa)\b",
    re.IGNORECASE,
)
# A rating label ("Tone & Political Bias: Moderately Center-Leaning"): a short "label: value" line
# whose label names a bias/reliability score; the explanation line after it goes too.
_RATING_LABEL = re.compile(r"([^:.!?]{1,50}):\s*\S")
_RATING_WORD = re.compile(
    r"\b(?:bias|rating|reliability|factual(?:ity)?|credibility)\b", re.IGNORECASE
)
_RATING_WHY = re.compile(r"(?:why|reason|rationale|explanation)\s*:\s*\S", re.IGNORECASE)

# Words that title case leaves lowercase: they say nothing about a line being a headline.
_SMALL_WORDS = frozenset(
    "a an the and but or nor for so yet of in on at to by as with from into onto over via vs "
    "per up off out amid than".split()
)
_SMALL_WORD_CHARS = 6  # longest small word (4) plus trailing punctuation: skip lower() otherwise
# Punctuation around a word that hides its first letter or its identity as a small word.
_WORD_LEAD = "\"'([{$#@\u201c\u201d\u2018\u2019\u00ab\u00bb"
_WORD_TRAIL = ",;:!?.\"')]\u2019\u201d"

# Caps on word counts (pasted titles and other stories' headlines are rarely longer than these).
_MAX_TITLE_WORDS, _MAX_HEADING_WORDS = 20, 8
_MIN_HEADLINE_WORDS, _MAX_HEADLINE_WORDS = 3, 25
_MAX_BOILERPLATE_WORDS, _MAX_CREDIT_WORDS, _MAX_RATING_WORDS = 40, 30, 12
_MIN_LIST_RUN = 3  # two short lines in a row are common in articles; three headlines are a list
_MIN_WRAP_WIDTH = 30  # narrowest line width (chars) at which hard-wrapped prose is expected
# Share of title-case lines in a run of other stories' headlines, and of headline-shaped lines in
# a block that is a list rather than hard-wrapped prose.
_LIST_TITLE_CASE = _LIST_SHARE = 0.75
_TITLE_CASE = 0.6  # share of capitalised content words for a heading or title-case headline


def _title_ratio(line: str) -> float:
    """Share of capitalised words among the words title case would capitalise."""
    caps = total = 0
    for token in line.split():
        word = token.lstrip(_WORD_LEAD)
        if not word[:1].isalpha():
            continue
        if len(word) <= _SMALL_WORD_CHARS and word.lower().rstrip(_WORD_TRAIL) in _SMALL_WORDS:
            continue
        total += 1
        caps += word[0].isupper()
    return caps / total if total else 0.0


def _words(line: str) -> int:
    """Word count of a normalised line (single spaces): cheaper than split()."""
    return line.count(" ") + 1


def _last(line: str) -> str:
    """Last character of a line, looking through closing quotes and brackets."""
    return (line.rstrip(_CLOSERS) or " ")[-1]


def _is_headline(line: str) -> bool:
    """A short unpunctuated line opening with a capital or digit: a link to another story. (Lines
    of hard-wrapped prose often open in lowercase, which breaks a run of them.)"""
    n = _words(line)
    bullet = _BULLET.match(line)
    first = line[bullet.end() if bullet else 0 :][:1]  # "" after a lone glyph
    return (
        _MIN_HEADLINE_WORDS <= n <= _MAX_HEADLINE_WORDS
        and (first.isupper() or first.isdigit())
        and _last(line) not in _NOT_TITLE_END
    )


def _is_heading(line: str) -> bool:
    """A short title-case line without sentence punctuation ("Key Developments", "Russia:")."""
    return (
        _words(line) <= _MAX_HEADING_WORDS
        and not _BULLET.match(line)
        and _last(line) not in _NOT_HEADING_END
        and _title_ratio(line) >= _TITLE_CASE
    )


def _is_credit(text: str) -> bool:
    if _CREDIT_START.match(text):
        return True
    if _last(text) in _CLOSED_END:
        return False  # a sentence that mentions a licence or a poll ("A Reuters/Ipsos poll ...")
    lower = text.lower()
    return any(marker in lower for marker in _CREDIT_MARKERS) or (
        ("/" in text or " via " in lower) and _AGENCY_SLASH.search(text) is not None
    )


# Wire sign-offs ("Reporting by Jane Doe in Kyiv; Editing by John Roe"): the whole line is credits.
_SIGN_OFF = re.compile(
    r"[(\[]?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|research|translation|"
    r"graphics?)\s+(?:by|from)\s+\S",
    re.IGNORECASE,
)
_NAME = r"[A-Z][\w'\u2019.-]*(?:\s+(?:[A-Z][\w'\u2019.-]*|de|van|von|al|el|bin|da|di|le|la))*"
_NAMES = rf"{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*"
_SIGN_OFF_PART = re.compile(
    r"\s*(?:[Aa]nd\s+)?(?:[Aa]dditional\s+)?(?:[Rr]eporting|[Ww]riting|[Ee]diting|[Cc]ompiled|"
    rf"[Rr]esearch|[Tt]ranslation|[Gg]raphics?)\s+(?:by|from)\s+{_NAMES}"
    rf"(?:\s+(?:in|at)\s+{_NAMES})?\s*"
)
# Cookie notices: a short line about cookies that asks for consent or says the site uses them.
_COOKIE_ASK = (
    "we use cookies", "uses cookies", "use of cookies", "accept cookies", "accept all",
    "cookie policy", "cookie settings", "consent", "by continuing",
)  # fmt: skip
_MAX_NAV_SEGMENT_WORDS = 4


def _is_sign_off(text: str) -> bool:
    """Every `;`-separated part of the line is "Reporting/Editing/... by NAME"."""
    if not _SIGN_OFF.match(text):
        return False
    body = text.strip().strip("()[]").rstrip(".")
    return all(_SIGN_OFF_PART.fullmatch(part) for part in body.split(";") if part.strip())


def _is_navigation(text: str) -> bool:
    """Section navigation ("Home | World | Business | Tech"): three or more short segments."""
    parts = [p.strip() for p in re.split(r"\s[|\u00a6\u2022\u00b7]\s", f" {text} ")]
    parts = [p for p in parts if p]
    return len(parts) >= 3 and all(
        _words(p) <= _MAX_NAV_SEGMENT_WORDS and _last(p) not in _SENTENCE_END for p in parts
    )


_COOKIE_SITE = ("site", "browser", "experience", "our ", "your ", "you ")


def _is_cookie_notice(text: str) -> bool:
    """About cookies, asking for consent, and speaking of the site or its reader."""
    lower = text.lower()
    return (
        "cookie" in lower
        and any(ask in lower for ask in _COOKIE_ASK)
        and any(w in lower for w in _COOKIE_SITE)
    )


def _pattern_reason(line: str, prev_reason: str | None) -> str | None:
    if not _ALNUM.search(line):
        return "decoration"
    n_words = _words(line)
    if n_words > _MAX_BOILERPLATE_WORDS:
        return None
    bullet = _BULLET.match(line)
    text = line[bullet.end() :] if bullet else line
    match = _LABEL_LINE.fullmatch(text)
    if match:
        return match.lastgroup
    if _is_sign_off(text):
        return "sign_off"
    if "|" in text or "\u2022" in text or "\u00b7" in text or "\u00a6" in text:
        if _is_navigation(text):
            return "navigation"
    if _is_cookie_notice(text):
        return "cookie_notice"
    if n_words <= _MAX_CREDIT_WORDS and _is_credit(text):
        return "image_credit"
    if n_words <= _MAX_CREDIT_WORDS and ("\u00a9" in text or "all rights reserved" in text.lower()):
        return "copyright"
    if ":" not in text:
        return None
    label = _RATING_LABEL.match(text)
    if n_words <= _MAX_RATING_WORDS and label and _RATING_WORD.search(label.group(1)):
        return "rating"
    if prev_reason == "rating" and _RATING_WHY.match(text):
        return "rating"
    return None


def _join(head: str, tail: str) -> str:
    if head[-1:] in "-\u2014" and head[-2:-1].isalpha():
        return head + tail  # "long-" + "term", "Moscow\u2014" + "and": wrapped at a dash
    return f"{head} {tail}"


def _unwrap(block: list[str], widths: list[int]) -> list[str]:
    """Join the lines of a hard-wrapped block back into one line per paragraph.

    A line was cut by wrapping when the next line's first word would not have fitted within the
    block's width (widths as pasted, indentation included). The block is wrapped prose when most
    lines are cut, one of them mid-sentence, and most are not shaped like headlines (a list of
    other stories is never joined).
    """
    width = max(widths)
    cuts = [
        used + 1 + len(nxt.split(" ", 1)[0]) > width
        for used, nxt in zip(widths, block[1:], strict=False)
    ]
    cut_lines = [line for line, cut in zip(block, cuts, strict=False) if cut]
    if (
        width < _MIN_WRAP_WIDTH  # bylines, datelines: nobody wraps prose this narrow
        or 2 * len(cut_lines) <= len(cuts)
        or all(_last(line) in _CLOSED_END for line in cut_lines)
    ):
        return block
    # A paragraph ends in a full stop and has lines opening in lowercase; a list does neither.
    listed = sum(map(_is_headline, block)) >= _LIST_SHARE * len(block)
    if listed and len(block) >= _MIN_LIST_RUN and _is_headline(block[-1]):
        return block
    # A bullet, a repeat or boilerplate ("Photo: ...") opens a line of its own, and only a
    # lowercase continuation ("via Wikimedia Commons") is joined to boilerplate.
    boiler = [_pattern_reason(line, None) is not None for line in block]
    out = [block[0]]
    for k, cut in enumerate(cuts, start=1):
        line = block[k]
        opens = _BULLET.match(line) or line == block[k - 1] or boiler[k]
        if cut and not opens and (not boiler[k - 1] or line[0].islower()):
            out[-1] = _join(out[-1], line)
        else:
            out.append(line)
    return out


def _logical_lines(raw: str) -> list[str]:
    """Stripped lines, Unicode spaces collapsed (splitlines takes CR/CRLF), hard wraps undone."""
    if any(char in raw for char in _INVISIBLE):
        raw = raw.translate(_DROP_INVISIBLE)
    pasted = raw.splitlines()
    lines = [" ".join(line.split()) for line in pasted]
    out: list[str] = []
    start, n = 0, len(lines)
    while start < n:
        end = start + 1
        while end < n and lines[start] and lines[end]:
            end += 1
        block = lines[start:end]
        if len(block) > 1:  # lines without a blank line between: maybe hard-wrapped
            block = _unwrap(block, [len(line.rstrip()) for line in pasted[start:end]])
        out.extend(block)
        start = end
    return out


def _kept(lines: list[str], reasons: list[str | None]) -> list[int]:
    return [i for i, line in enumerate(lines) if line and reasons[i] is None]


def _mark_boilerplate(lines: list[str], reasons: list[str | None]) -> None:
    """Curated phrases and decoration, then exact duplicates of kept lines (first one stays)."""
    prev: str | None = None
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if not line:
            continue
        reason = _pattern_reason(line, prev)
        if reason is None and line in seen:
            reason = "duplicate_line"
        seen.add(line)
        reasons[i] = prev = reason


def _mark_runs(lines: list[str], reasons: list[str | None], shaped: set[int]) -> None:
    """Runs of >= 3 headline-shaped lines, mostly title case, blank lines allowed. Sentence-case
    bullets break a run, and a run after a colon is the article's own list ("It includes:")."""
    run: list[int] = []
    n_title_case, before = 0, ""
    for i in [*_kept(lines, reasons), -1]:  # -1 flushes the last run
        title_case = i in shaped and _title_ratio(lines[i]) >= _TITLE_CASE
        if title_case or (i in shaped and not _BULLET.match(lines[i])):
            run.append(i)
            n_title_case += title_case
            continue
        is_list = len(run) >= _MIN_LIST_RUN and n_title_case >= _LIST_TITLE_CASE * len(run)
        if is_list and not before.endswith(":"):
            for j in run:
                reasons[j] = "headline_list"
        run, n_title_case, before = [], 0, lines[i] if i >= 0 else ""


def _mark_after_teaser(lines: list[str], reasons: list[str | None], shaped: set[int]) -> None:
    """Headlines right after a lone teaser label ("Related Stories"), however few."""
    follows_label = False
    for i, line in enumerate(lines):
        reason = reasons[i]
        if not line:
            continue
        if reason is not None:
            follows_label = reason == "also_read" and bool(_TEASER_LABEL.fullmatch(line))
        elif follows_label and i in shaped:
            reasons[i] = "headline_list"
        else:
            follows_label = False


def _find_title(lines: list[str], reasons: list[str | None]) -> int | None:
    """Index of the first kept line if it reads as a title followed by body text."""
    kept = _kept(lines, reasons)[:2]
    if len(kept) < 2:
        return None
    first, second = kept
    line, nxt = lines[first], lines[second]
    if _BULLET.match(line) or _words(line) > _MAX_TITLE_WORDS or _last(line) in _NOT_TITLE_END:
        return None
    if second == first + 1 and nxt[0].islower():
        return None  # the sentence goes on: not a title
    # A sentence-case line followed by another short open line is a list item (e.g. a summary).
    body_next = (
        _BULLET.match(nxt) is not None
        or _is_heading(nxt)
        or _last(nxt) in _CLOSED_END
        or _words(nxt) > _MAX_TITLE_WORDS
        or (second + 1 < len(lines) and bool(lines[second + 1]))  # single-newline paragraphs
    )
    return first if body_next or _title_ratio(line) >= _TITLE_CASE else None


def _mark_headings(lines: list[str], reasons: list[str | None], title: int | None) -> None:
    """Section headings: heading-shaped lines that start a block or follow a finished sentence."""
    for i, line in enumerate(lines):
        if not line or reasons[i] is not None or i == title or not _is_heading(line):
            continue
        prev = lines[i - 1] if i else ""
        starts_block = not prev or reasons[i - 1] is not None or i - 1 == title
        if starts_block or _BULLET.match(prev) or _last(prev) in _SENTENCE_END:
            reasons[i] = "heading"


def _paragraphs(lines: list[str], reasons: list[str | None], title: int | None) -> list[str]:
    """Kept lines as paragraphs, without bullet glyphs; a line opening in lowercase continues
    the kept line above it (no sentence opens in lowercase)."""
    out: list[str] = []
    for i, line in enumerate(lines):
        if not line or i == title or reasons[i] is not None:
            continue
        bullet = _BULLET.match(line)
        text = line[bullet.end() :] if bullet else line
        after_kept = i > 0 and bool(lines[i - 1]) and reasons[i - 1] is None and i - 1 != title
        if out and after_kept and not bullet and text[:1].islower():
            out[-1] = _join(out[-1], text)
        elif text:
            out.append(text)
    return out


def clean_text(raw: str) -> CleanText:
    """Clean one plain-text article pasted from a web page.

    Returns the detected title (or None), the body paragraphs with boilerplate removed and bullet
    glyphs stripped, and every dropped line with a short reason slug (a hard-wrapped line is
    reported joined).
    """
    lines = _logical_lines(raw)
    reasons: list[str | None] = [None] * len(lines)
    _mark_boilerplate(lines, reasons)
    shaped = {i for i in _kept(lines, reasons) if _is_headline(lines[i])}
    _mark_runs(lines, reasons, shaped)  # lists of other stories' headlines
    _mark_after_teaser(lines, reasons, shaped)
    title = _find_title(lines, reasons)
    _mark_headings(lines, reasons, title)
    return CleanText(
        title=lines[title] if title is not None else None,
        paragraphs=tuple(_paragraphs(lines, reasons, title)),
        removed=tuple((lines[i], r) for i, r in enumerate(reasons) if r is not None),
    )

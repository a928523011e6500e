"""Fact units: the names, numbers, dates, times and quotes each sentence carries."""

from __future__ import annotations

import re
from collections.abc import Iterable

from worker.models import FactUnit, Sentence
from worker.pipeline.sentences import split_sentences
from worker.pipeline.text import STOPWORDS, fold, normalize, words

__all__ = ["article_sentences", "vocabulary"]

# fmt: off
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")]
    )
    for m in names
}
# fmt: on
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
_DATE_WORDS = _WEEKDAYS | frozenset(_MONTHS)  # dates, not names
_MONTH_RE = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"\b(?:(?P<m1>{_MONTH_RE})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>(?:19|20)\d\d))?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH_RE})(?:,?\s+(?P<y2>(?:19|20)\d\d))?"
    rf"|(?P<m3>{_MONTH_RE})\s+(?P<y3>(?:19|20)\d\d))\b"
)
_TIME = re.compile(
    r"\b(?P<h>[01]?\d|2[0-3])(?:[:.]?(?P<mi>[0-5]\d))?\s*"
    r"(?P<z>GMT|UTC|BST|CET|CEST|EST|EDT|CST|PST|PDT|ET|[ap]\.?m\.?)(?!\w)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<![\w.$])(?:19|20)\d\d(?![\w.%-])")
_WEEKDAY = re.compile(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_NUMBER = re.compile(
    r"(?<![\w.])(?P<cur>[$€£])?(?P<v>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?P<pct>\s*(?:%|percent\b|per cent\b))?"
    r"(?:[\s-]+(?P<scale>thousand|million|billion|trillion)\b)?"
    r"(?:[\s-]+(?P<unit>[A-Za-z]+))?"
)
# Words after a number that are not its unit ("5 of", "3 million"); durations are units.
_NOT_UNITS = (STOPWORDS - {"day", "days", "week", "weeks", "year", "years"}) | frozenset(_SCALE)
_DIGIT = re.compile(r"\d")
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
} | {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12}
# The lookahead on first letters halves the scan: Python's re otherwise tries every number word
# at every position of the sentence.
_WORD_NUMBER = re.compile(
    r"\b(?=[" + "".join(sorted({w[0] for w in _NUMBER_WORDS})) + r"])"
    r"(?P<w>" + "|".join(_NUMBER_WORDS) + r")[\s-]+(?P<unit>[a-z]+)",
    re.IGNORECASE,
)
# Quotes after normalize(): straight double quotes; single quotes only around 2+ words.
_QUOTE = re.compile(
    r'"(?P<q>[^"]{2,600})"|(?<![\w])\'(?P<s>[^\'\n]{3,200}\s[^\'\n]{1,200})\'(?!\w)'
)
_NAME_TOKEN = re.compile(r"[\w'.&-]+")
_CAP_TOKEN = re.compile(r"[A-Z][\w'.-]*|[A-Z]{2,}")
# Lower-case words that may sit inside a name: "Secretary of State", "Abu al-Baghdadi".
# A lone nationality or direction adjective ("American", "Turkish", "Western") is rarely news.
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:an|ish|ese|ern|ic|i)$")
_NAME_JOINERS = frozenset(
    "of de del la le al el bin ibn von van der den du da dos di the &".split()
)


def article_sentences(paragraphs: Iterable[str]) -> tuple[Sentence, ...]:
    """Every sentence of the article with its fact units, in order."""
    sentences = [s for p in paragraphs for s in split_sentences(normalize(p))]
    mid_caps = _mid_sentence_capitals(sentences)
    return tuple(
        Sentence(index=i, text=s, units=tuple(_units(s, mid_caps))) for i, s in enumerate(sentences)
    )


def vocabulary(
    sentences: Iterable[Sentence], sentence_words: Iterable[list[str]] | None = None
) -> set[str]:
    """Every key an article contributes to its story: folded words plus unit keys.

    `sentence_words`: `words(s.text)` of each sentence, when the caller has them already.
    """
    sentences = list(sentences)
    if sentence_words is None:
        sentence_words = [words(s.text) for s in sentences]
    keys: set[str] = set()
    for s, tokens in zip(sentences, sentence_words, strict=True):
        keys.update("w:" + fold(w) for w in tokens if w not in STOPWORDS)
        for u in s.units:
            keys.update(u.keys)
    return keys


def _mid_sentence_capitals(sentences: list[str]) -> set[str]:
    """Capitalised words seen away from a sentence start: names, not sentence openers."""
    seen: set[str] = set()
    for s in sentences:
        for m in list(_CAP_TOKEN.finditer(s))[1:]:
            if m.start() > 0:
                seen.add(m.group().lower())
    return seen


def _units(sentence: str, mid_caps: set[str]) -> list[FactUnit]:
    units: list[FactUnit] = []
    taken = [False] * len(sentence)

    def claim(m: re.Match[str]) -> bool:
        if any(taken[m.start() : m.end()]):
            return False
        taken[m.start() : m.end()] = [True] * (m.end() - m.start())
        return True

    # Most sentences hold no quote, digit or weekday: skip the scans that cannot match.
    if '"' in sentence or "'" in sentence:
        for m in _QUOTE.finditer(sentence):
            inner = m.group("q") or m.group("s") or ""
            keys = tuple(sorted({"w:" + fold(w) for w in words(inner) if w not in STOPWORDS}))
            if keys:  # quotes do not claim: names inside count too
                units.append(FactUnit("quote", inner.strip(" ,.;:"), keys))
    has_digit = _DIGIT.search(sentence) is not None  # times, dates, years, numbers
    for m in _TIME.finditer(sentence) if has_digit else ():
        if claim(m):
            zone = m.group("z").lower().replace(".", "")
            key = f"t:{int(m.group('h')):02d}{m.group('mi') or '00'}{zone}"
            units.append(FactUnit("date", m.group(), (key,)))
    for m in _DATE.finditer(sentence) if has_digit else ():
        if claim(m):
            units.append(FactUnit("date", m.group(), (_date_key(m),)))
    for m in _YEAR.finditer(sentence) if has_digit else ():
        if claim(m):
            units.append(FactUnit("date", m.group(), (f"d:{m.group()}",), weight=0.5))
    for m in _WEEKDAY.finditer(sentence) if "day" in sentence else ():
        if claim(m):
            units.append(FactUnit("date", m.group(), (f"d:{m.group().lower()}",), weight=0.3))
    for m in _NUMBER.finditer(sentence) if has_digit else ():
        if not any(taken[m.start() : m.end("v")]) and claim(m):
            key, end = _number_key(m)
            units.append(FactUnit("number", sentence[m.start() : end].strip(), (key,)))
    for m in _WORD_NUMBER.finditer(sentence):
        unit = _unit_word(m.group("unit"))
        if unit and not any(taken[m.start() : m.end()]) and claim(m):
            key = f"n:{_NUMBER_WORDS[m.group('w').lower()]}:{unit}"
            units.append(FactUnit("number", m.group(), (key,), weight=0.5))  # "two players"
    units.extend(_entities(sentence, taken, mid_caps))
    return units


def _date_key(m: re.Match[str]) -> str:
    month_name = (m.group("m1") or m.group("m2") or m.group("m3")).lower().rstrip(".")
    month = _MONTHS.get(month_name, _MONTHS.get(month_name[:3], 0))
    day = m.group("d1") or m.group("d2")
    year = m.group("y1") or m.group("y2") or m.group("y3")
    # "May 15" and "May 15, 2025" are one fact for a story that lives a few days.
    return f"d:{month:02d}-{int(day):02d}" if day else f"d:{year}-{month:02d}"


def _unit_word(word: str | None) -> str | None:
    if not word:
        return None
    w = word.lower()
    if w in _NOT_UNITS:
        return None
    return fold(w[:-1] if w.endswith("s") and len(w) > 3 else w)


def _number_key(m: re.Match[str]) -> tuple[str, int]:
    """Key of a number with its unit, and where its surface text ends."""
    value = float(m.group("v").replace(",", ""))
    end = max(m.end("v"), m.end("pct"), m.end("scale"))
    if m.group("scale"):
        value *= _SCALE[m.group("scale").lower()]
    if m.group("pct"):
        return f"n:{value:g}:%", end
    if m.group("cur"):
        return f"n:{value:g}:{m.group('cur')}", end
    unit = _unit_word(m.group("unit"))
    return f"n:{value:g}:{unit or ''}", m.end("unit") if unit else end


def _entities(sentence: str, taken: list[bool], mid_caps: set[str]) -> list[FactUnit]:
    """Runs of capitalised words (with joiners such as "of"), not at a bare sentence start."""
    out: list[FactUnit] = []
    run: list[re.Match[str]] = []

    def flush() -> None:
        while run and run[-1].group().lower() in _NAME_JOINERS:
            run.pop()
        if run and run[0].start() == 0 and run[0].group().lower() not in mid_caps:
            run.pop(0)  # a sentence opener ("Instead", "Tensions"), not a name
        names = [t.group().rstrip(".") for t in run if t.group().lower() not in STOPWORDS]
        if names:
            text = sentence[run[0].start() : run[-1].end()].rstrip(".")
            keys = tuple(sorted({"w:" + fold(w) for w in words(" ".join(names))}))
            if keys:
                weak = len(names) == 1 and _DEMONYM.search(names[0]) is not None
                out.append(FactUnit("entity", text, keys, weight=0.5 if weak else 1.0))
        run.clear()

    previous_end = 0
    for t in _NAME_TOKEN.finditer(sentence):
        word = t.group()
        if run and sentence[previous_end : t.start()].strip():
            flush()  # punctuation between words ends a name
        previous_end = t.end()
        if word[:1].isupper() and not any(taken[t.start() : t.end()]):
            if word.lower().rstrip(".") not in _DATE_WORDS:
                run.append(t)
                continue
        if run:  # most words: lower case with no name open, nothing to do
            if word.lower() in _NAME_JOINERS:
                run.append(t)
            else:
                flush()
    if run:
        flush()
    return out

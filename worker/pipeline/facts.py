"""Fact units: the names, numbers, dates, times and quotes each sentence carries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from worker.errors import BadInput
from worker.models import FactUnit, Sentence
from worker.pipeline.sentences import split_sentences
from worker.pipeline.text import STOPWORDS, fold, normalize, words

__all__ = ["LIMITS", "TextLimits", "article_sentences", "vocabulary"]


@dataclass(frozen=True, slots=True)
class TextLimits:
    """What one article may hold, so that its cost is bounded and linear in its length.

    Over `max_article_chars` or `max_article_facts` the article is rejected (BadInput
    ``article_too_long``, ``too_many_facts``): a text that long or that dense is a book, a
    table dump or junk, not a report, and as a story it would make every later fact "known".
    A sentence longer than `max_sentence_chars` is cut into pieces at spaces (a run without
    sentence punctuation is still text), and a sentence keeps its first `max_sentence_units`
    units in reading order (a table flattened into one line, not prose).
    """

    max_article_chars: int = 1_000_000  # ~170,000 words; the longest features are ~200 KB
    max_article_facts: int = 20_000  # a 10,000-word article holds ~1,500
    max_sentence_chars: int = 1_000  # wire sentences are ~150; a 600-char quote fits
    max_sentence_units: int = 100


#: the limits `article_sentences` applies when given none
LIMITS = TextLimits()

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
    r"\b(?P<h>[01]?\d|2[0-3])(?:[:.]?(?P<mi>[0-5]\d)(?::[0-5]\d)?)?\s*"
    r"(?P<z>GMT|UTC|BST|CET|CEST|EST|EDT|CST|PST|PDT|ET|[ap]\.?m\.?)(?!\w)",
    re.IGNORECASE,
)
# A clock time with no zone ("16:53 local time"); with seconds ("06:46:00") it is a machine
# timestamp, page furniture such as "Updated: Thu May 03 2012 06:46:00", not a reported fact.
_CLOCK = re.compile(r"(?<![\d:.])(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?P<s>:[0-5]\d)?(?![\d:])")
_YEAR = re.compile(r"(?<![\w.$])(?:19|20)\d\d(?![\w.%-])")
_WEEKDAY = re.compile(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
# The word after a number, and the lower-case word after that: the unit when the first word only
# modifies it ("1,000 political prisoners", "11 Brazilian soldiers"); see _unit_of.
_UNIT = r"(?P<unit>[A-Za-z]+)(?:\s+(?P<head>[a-z]+))?"
_NUMBER = re.compile(
    r"(?<![\w.])(?P<cur>[$€£])?(?P<v>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?P<pct>\s*(?:%|percent\b|per cent\b))?"
    r"(?:[\s-]+(?P<scale>thousand|million|billion|trillion)\b)?"
    r"(?:[\s-]+" + _UNIT + ")?"
)
# Words after a number that are not its unit ("5 of", "3 million"); durations are units.
_NOT_UNITS = (STOPWORDS - {"day", "days", "week", "weeks", "year", "years"}) | frozenset(_SCALE)
# Adjectives seen between a number and its noun in wire copy: "26 confirmed cases" and "26
# cases" are one fact. Measure words stay units: "10 square miles" is not "10 miles".
_ADJECTIVES = frozenset(
    """additional armed civil confirmed different federal foreign former general global injured
    innocent international local major military missing national nuclear political possible
    presidential private probable senior separate suspected top total unarmed wounded
    young""".split()
)
_DIGIT = re.compile(r"\d")
# No "one": it is mostly a pronoun ("no one wants", "one of them", "one source said").
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate("two three four five six seven eight nine ten eleven twelve".split(), 2)
} | {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "dozen": 12}
# The lookahead on first letters halves the scan: Python's re otherwise tries every number word
# at every position of the sentence. Only the number word ignores case: a unit is lower case.
_WORD_NUMBER = re.compile(
    r"(?i:\b(?=[" + "".join(sorted({w[0] for w in _NUMBER_WORDS})) + r"])"
    r"(?P<w>" + "|".join(_NUMBER_WORDS) + r"))[\s-]+" + _UNIT
)
# Quotes after normalize(): straight double quotes; single quotes only around 2+ words.
_QUOTE = re.compile(
    r'"(?P<q>[^"]{2,600})"|(?<![\w])\'(?P<s>[^\'\n]{3,200}\s[^\'\n]{1,200})\'(?!\w)'
)
_NAME_TOKEN = re.compile(r"[\w'.&-]+")
_CAP_TOKEN = re.compile(r"[A-Z][\w'.-]*|[A-Z]{2,}")
# A lone nationality or direction adjective ("American", "Turkish", "Western") is rarely news.
# Only demonym endings: "-an" and "-i" also end countries and people (Iran, Sudan, Haiti,
# Maliki), so the demonyms with those endings are listed instead.
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ian|ean|can|ish|ese|ern|[a-z]{2}ic)$")
_DEMONYMS = frozenset(
    """Afghan Arab Bahraini Bangladeshi Cuban Dutch Emirati French German Greek Iraqi Israeli
    Kenyan Kuwaiti Libyan Nepali Omani Pakistani Qatari Saudi Somali Swiss Thai Yemeni""".split()
)
# Lower-case words that may sit inside a name: "Secretary of State", "Abu al-Baghdadi".
_NAME_JOINERS = frozenset(
    "of de del la le al el bin ibn von van der den du da dos di the &".split()
)
# A capitalised word right after these, at a sentence start or after a clause's punctuation,
# opens a sentence or a quoted one: '"Everything is financed," he said', '(Nothing happened.)'.
_OPENING_MARKS = '"(['
_CLAUSE_END = ".:;,!?"


def article_sentences(
    paragraphs: Iterable[str], *, limits: TextLimits | None = None
) -> tuple[Sentence, ...]:
    """Every sentence of the article with its fact units, in order.

    Raises:
        BadInput: ``article_too_long`` or ``too_many_facts`` past `limits` (default `LIMITS`).
    """
    lim = limits or LIMITS
    paragraphs = list(paragraphs)
    chars = sum(len(p) for p in paragraphs)
    if chars > lim.max_article_chars:
        raise BadInput(
            f"{chars} characters of article text, over max_article_chars={lim.max_article_chars}",
            reason="article_too_long",
        )
    sentences = [
        piece
        for p in paragraphs
        for s in split_sentences(normalize(p))
        for piece in _pieces(s, lim.max_sentence_chars)
    ]
    mid_caps = _mid_sentence_capitals(sentences)
    out, facts = [], 0
    for i, s in enumerate(sentences):
        units = _units(s, mid_caps)
        if len(units) > lim.max_sentence_units:
            units = _in_reading_order(s, units)[: lim.max_sentence_units]
        facts += len(units)
        if facts > lim.max_article_facts:  # stop here: the rest would cost as much again
            raise BadInput(
                f"over max_article_facts={lim.max_article_facts} fact units (names, numbers, "
                f"dates, quotes) by sentence {i + 1} of {len(sentences)}",
                reason="too_many_facts",
            )
        out.append(Sentence(index=i, text=s, units=tuple(units)))
    return tuple(out)


def _pieces(sentence: str, max_chars: int) -> Iterator[str]:
    """A sentence as it is, or cut at spaces into pieces of at most `max_chars` (a word
    longer than that is cut where it must)."""
    start, n = 0, len(sentence)
    while n - start > max_chars:
        cut = sentence.rfind(" ", start + max_chars // 2, start + max_chars + 1)
        if cut == -1:
            cut = start + max_chars
        piece = sentence[start:cut].strip()
        if piece:
            yield piece
        start = cut
    piece = sentence[start:].strip()
    if piece:
        yield piece


def _in_reading_order(sentence: str, units: list[FactUnit]) -> list[FactUnit]:
    """Units by where their text first occurs in the sentence (they are found kind by kind)."""
    return sorted(units, key=lambda u: i if (i := sentence.find(u.text)) >= 0 else len(sentence))


def vocabulary(
    sentences: Iterable[Sentence], sentence_words: Iterable[list[str]] | None = None
) -> set[str]:
    """Every key an article contributes to its story: folded words (`w:`) plus unit keys.

    Names have keys of their own (`e:`), so "Air Force" is not known from the word "force". A
    capitalised sentence opener adds its `e:` key too: "Putin said ..." names Putin for the
    story even where the article never names him mid-sentence.

    `sentence_words`: `words(s.text)` of each sentence, when the caller has them already.
    """
    sentences = list(sentences)
    if sentence_words is None:
        sentence_words = [words(s.text) for s in sentences]
    keys: set[str] = set()
    for s, tokens in zip(sentences, sentence_words, strict=True):
        keys.update("w:" + fold(w) for w in tokens if w not in STOPWORDS)
        if tokens and tokens[0] not in STOPWORDS and s.text.lstrip(_OPENING_MARKS)[:1].isupper():
            keys.add(_name_key(tokens[0]))
        for u in s.units:
            keys.update(u.keys)
    return keys


def _name_key(word: str) -> str:
    """Key of a lower-cased word of a name; dots dropped, so "U.S." and "US" are one key."""
    return "e:" + fold(word.replace(".", ""))


def _opens_sentence(sentence: str, start: int) -> bool:
    """Does the word at `start` open a sentence, a quoted one, or one inside a long quote?

    Ordinary words are capitalised there ('He said: "Nothing will change."', '"Output fell.
    Now it is half," he said.'), so a capitalised word there is a name only when the article
    also uses it mid-sentence.
    """
    if start == 0:
        return True
    before = sentence[start - 1]
    if before in _OPENING_MARKS:
        i = start - 1
        while i > 0 and (sentence[i - 1] in _OPENING_MARKS or sentence[i - 1] == " "):
            i -= 1
        return i == 0 or sentence[i - 1] in _CLAUSE_END
    if before == " " and start > 2 and sentence[start - 2] in ".!?":
        return _ends_sentence(sentence, start - 2)
    return False


def _ends_sentence(sentence: str, i: int) -> bool:
    """Does the punctuation at `i` end a sentence?

    A period does only after a lower-case word ("went down. Now"), not after a title or an
    acronym ("Mr. Ban", "U.S. Senate").
    """
    if sentence[i] != ".":
        return True
    j = i
    while j > 0 and (sentence[j - 1].isalnum() or sentence[j - 1] in ".'-"):
        j -= 1
    return sentence[j:i][:1].islower()


def _mid_sentence_capitals(sentences: list[str]) -> set[str]:
    """Capitalised words seen away from a sentence start: names, not sentence openers."""
    seen: set[str] = set()
    for s in sentences:
        for m in _CAP_TOKEN.finditer(s):
            if not _opens_sentence(s, m.start()):
                seen.add(m.group().lower())
    return seen


def _units(sentence: str, mid_caps: set[str]) -> list[FactUnit]:
    units: list[FactUnit] = []
    taken = [False] * len(sentence)

    def claim(m: re.Match[str], end: int | None = None) -> bool:
        """Take the span of a match (up to `end`) unless another unit holds part of it."""
        start, end = m.start(), m.end() if end is None else end
        if any(taken[start:end]):
            return False
        taken[start:end] = [True] * (end - start)
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
    for m in _CLOCK.finditer(sentence) if has_digit and ":" in sentence else ():
        if claim(m) and not m.group("s"):  # with seconds: a machine timestamp, not a fact
            key = f"t:{int(m.group('h')):02d}{m.group('mi')}"
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
        if not any(taken[m.start() : m.end("v")]):
            key, end = _number_key(m)
            if claim(m, end):
                units.append(FactUnit("number", sentence[m.start() : end].strip(), (key,)))
    for m in _WORD_NUMBER.finditer(sentence):
        unit, end = _unit_of(m)
        if unit and claim(m, end):
            key = f"n:{_NUMBER_WORDS[m.group('w').lower()]}:{unit}"
            text = sentence[m.start() : end]
            units.append(FactUnit("number", text, (key,), weight=0.5))  # "two players"
    units.extend(_entities(sentence, taken, mid_caps))
    return units


def _date_key(m: re.Match[str]) -> str:
    month_name = (m.group("m1") or m.group("m2") or m.group("m3")).lower().rstrip(".")
    month = _MONTHS.get(month_name, _MONTHS.get(month_name[:3], 0))
    day = m.group("d1") or m.group("d2")
    year = m.group("y1") or m.group("y2") or m.group("y3")
    # "May 15" and "May 15, 2025" are one fact for a story that lives a few days.
    return f"d:{month:02d}-{int(day):02d}" if day else f"d:{year}-{month:02d}"


def _unit_word(word: str) -> str | None:
    """Key of a unit word, singular; None for words that are not units ("of", "million")."""
    w = word.lower()
    if w in _NOT_UNITS:
        return None
    return fold(w[:-1] if w.endswith("s") and len(w) > 3 else w)


def _unit_of(m: re.Match[str]) -> tuple[str | None, int]:
    """The unit key of a number (group `unit`, then `head`) and where its text ends.

    The unit is the word after the number, or the noun after it when that word is only a
    modifier: an adjective or a capitalised word ("11 Brazilian soldiers"). A capitalised word
    with nothing to modify is no unit ("5 BP", "11 Brazilian"), unless it is a plural noun
    ("1,000 Libyans").
    """
    word, head = m.group("unit"), m.group("head")
    if not word:
        return None, m.start("unit")
    capitalised = word[0].isupper()
    plural_noun = capitalised and word.endswith("s") and not word.isupper()
    if head and head not in _NOT_UNITS and not plural_noun:
        if capitalised or word in _ADJECTIVES:
            return _unit_word(head), m.end("head")
    if capitalised and not plural_noun:
        return None, m.start("unit")
    unit = _unit_word(word)
    return unit, m.end("unit") if unit else m.start("unit")


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
    unit, unit_end = _unit_of(m)
    return f"n:{value:g}:{unit or ''}", unit_end if unit else end


def _entities(sentence: str, taken: list[bool], mid_caps: set[str]) -> list[FactUnit]:
    """Runs of capitalised words (with joiners such as "of"), not at a bare sentence start."""
    out: list[FactUnit] = []
    run: list[re.Match[str]] = []

    def flush() -> None:
        while run and run[-1].group().lower() in _NAME_JOINERS:
            run.pop()
        if (
            run
            and run[0].group().lower() not in mid_caps
            and _opens_sentence(sentence, run[0].start())
        ):
            run.pop(0)  # a sentence opener ("Instead", '"Everything'), not a name
        names = _name_words(run)
        if names:
            text = sentence[run[0].start() : run[-1].end()].rstrip(".")
            keys = tuple(sorted({_name_key(w) for w in words(" ".join(names))}))
            if keys:
                out.append(FactUnit("entity", text, keys, weight=_name_weight(names)))
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


def _name_words(run: list[re.Match[str]]) -> list[str]:
    """The words of a run of capitalised words that make it a name: no function words.

    "US" is not the pronoun "us", and "New" followed by a name is part of it ("New York").
    """
    out = []
    for i, t in enumerate(run):
        word = t.group()
        lower = word.lower().removesuffix("'s")  # "It's", "That's": as words() reads them
        if lower not in STOPWORDS or word == "US" or (word == "New" and i + 1 < len(run)):
            out.append(word.rstrip("."))
    return out


def _name_weight(names: list[str]) -> float:
    """Half for a lone nationality or direction adjective ("Iranian", "Western"), else 1."""
    if len(names) == 1 and (names[0] in _DEMONYMS or _DEMONYM.search(names[0])):
        return 0.5
    return 1.0

"""Text normalisation and tokens shared by the pipeline: one definition of a word."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

__all__ = [
    "STOPWORDS",
    "content_terms",
    "fold",
    "normalize",
    "word_spans",
    "words",
]

# Typographic variants that outlets use interchangeably: compare text, not typography.
# fmt: off
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
        "\u2014": " - ", "\u2015": " - ",  # an em dash separates words; a hyphen joins them
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\u200c": "", "\u200d": "",
        "\ufeff": "",
    }
)
# fmt: on
# Runs of spaces and tabs become one space; a lone space is left alone (most of them: no copy).
_SPACES = re.compile(r"[ \t\f\v]{2,}|[\t\f\v]")

# A word: letters/digits, with inner apostrophes or dots of decimals ("don't", "6.78").
_WORD = re.compile(r"[^\W_]+(?:['.,][^\W_]+)*", re.UNICODE)
_POSSESSIVE = re.compile(r"'s$")
# British and American spellings of one word fold together: defence/defense, theatre/theater.
_SPELLING = [
    (re.compile(r"(?<=[a-z]{3})ence$"), "ense"),
    (re.compile(r"(?<=[a-z]{3})tre$"), "ter"),
    (re.compile(r"(?<=[a-z]{2})our"), "or"),
    (re.compile(r"(?<=[a-z]{3})is(e|ed|ing|ation)$"), r"iz\1"),
]


def normalize(text: str) -> str:
    """NFKC, ASCII quotes and dashes, no zero-width characters, single spaces."""
    if not text.isascii():  # ASCII text is NFKC already and holds nothing to translate
        text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return _SPACES.sub(" ", text)


def word_spans(text: str) -> list[re.Match[str]]:
    """Word matches over already-normalised text (keeps offsets for fact units)."""
    return list(_WORD.finditer(text))


def words(text: str) -> list[str]:
    """Lower-cased words with possessives stripped: `Russia's` -> `russia`."""
    out = []
    for w in _WORD.findall(text):
        w = w.lower().rstrip(".,")
        out.append(w[:-2] if w.endswith("'s") else w)  # _POSSESSIVE, without a regex per word
    return out


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """Spelling-variant key of a word: accents stripped, lower-cased, cut to 6 letters.

    Outlets transliterate names differently (Zelensky, Zelenskiy, Zelenskyy) and inflect them
    (Ukraine, Ukrainian): a 6-letter prefix makes such variants one key, so a variant spelling
    is never reported as a new fact. Collisions only make novelty more conservative.
    """
    w = unicodedata.normalize("NFKD", word.lower())
    w = "".join(c for c in w if not unicodedata.combining(c))
    w = _POSSESSIVE.sub("", w)
    if w[:1].isdigit():
        return w
    for pattern, repl in _SPELLING:
        w = pattern.sub(repl, w)
    return w[:6]


def content_terms(tokens: list[str]) -> list[str]:
    """Terms worth comparing: no stopwords, no one-letter words."""
    return [t for t in tokens if len(t) > 1 and t not in STOPWORDS]


def _load_stopwords() -> frozenset[str]:
    """One word a line; lines starting with `#` are comments (their words are not stopwords)."""
    raw = resources.files(__package__).joinpath("stopwords.txt").read_text(encoding="utf-8")
    lines = (line.strip() for line in raw.splitlines())
    return frozenset(w for w in lines if w and not w.startswith("#"))


#: English function words and reporting verbs: language-level, not learned from any corpus.
STOPWORDS: frozenset[str] = _load_stopwords()

"""Frozen dataclasses that cross module boundaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "Article",
    "Document",
    "FactUnit",
    "IngestResult",
    "Sentence",
    "Status",
]

Kind = Literal["text", "html"]
Status = Literal["new_story", "development", "duplicate", "rejected"]
UnitKind = Literal["entity", "number", "date", "quote"]


@dataclass(frozen=True, slots=True)
class Document:
    """One input as received, before extraction: a file, a JSON object or stdin."""

    origin: str  # the path as given, "-" for stdin, "path:LINE" for JSON Lines
    body: str
    kind: Kind
    url: str | None = None
    title: str | None = None
    published_at: str | None = None
    source: str | None = None
    author: str | None = None  # a byline given with the input (a feed entry's) wins

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: Any) -> Document:
        """A Document from its `to_dict()` form (a queued task's argument), checked."""
        if not isinstance(obj, dict) or not isinstance(obj.get("origin"), str):
            raise TypeError("a document needs a JSON object with a string 'origin'")
        if obj.get("kind") not in ("text", "html") or not isinstance(obj.get("body"), str):
            raise TypeError("a document needs 'kind' text or html and a string 'body'")
        unknown = set(obj) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise TypeError(f"unknown document fields: {sorted(unknown)}")
        return cls(**obj)


@dataclass(frozen=True, slots=True)
class Article:
    """Main text and metadata of one article, boilerplate removed."""

    text: str  # paragraphs joined by blank lines
    title: str | None = None
    url: str | None = None
    source: str | None = None
    author: str | None = None
    published_at: str | None = None
    language: str | None = None
    site_name: str | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p.strip()]


@dataclass(frozen=True, slots=True)
class FactUnit:
    """A checkable unit inside a sentence: a name, a number, a date or a quote."""

    kind: UnitKind
    text: str  # surface form as written in the article
    keys: tuple[str, ...]  # normalised keys; the unit is known when the story holds them
    weight: float = 1.0  # how much the unit counts towards novelty (a weekday counts little)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of an article with the fact units it carries."""

    index: int
    text: str
    units: tuple[FactUnit, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to one input: the line `wirewatch ingest --json` prints."""

    input: str
    status: Status
    story_id: str | None = None
    article_id: str | None = None
    event: dict[str, Any] | None = None
    error: str | None = None
    # `story.created` of a story that a review split out of the article's story on this
    # ingest (worker/reviewer.py); stored and delivered like `event`, not part of to_dict
    review_event: dict[str, Any] | None = None
    storyline_id: str | None = None  # the developing topic the story belongs to

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["review_event"]
        return out

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event this ingest emitted."""
        return [e for e in (self.event, self.review_event) if e is not None]

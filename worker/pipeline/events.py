"""Event documents: the versioned JSON contract with webhook consumers (docs/events.md)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from worker.models import Sentence
from worker.pipeline.novelty import Novelty

__all__ = ["EVENT_VERSION", "MAX_EVENT_BYTES", "build_event", "event_id"]

EVENT_VERSION = 2  # 2: `storyline`; a story opened in a storyline lists what it adds
MAX_EVENT_BYTES = 16_000  # consumers are promised well under 20 KB
MAX_SENTENCE_CHARS = 600
MAX_UNITS_PER_FACT = 12
MAX_COMPARED = 20
LEDE_SENTENCES = 3  # a new story lists its first sentences that carry facts


def event_id(event_type: str, story_id: str, article_id: str) -> str:
    """Stable id: the same article in the same story always yields the same event id."""
    digest = hashlib.sha1(f"{event_type}|{story_id}|{article_id}".encode()).hexdigest()
    return "evt_" + digest[:24]


def build_event(
    event_type: str,
    *,
    story: dict[str, Any],
    storyline: dict[str, Any],
    article: dict[str, Any],
    occurred_at: float,
    novelty: Novelty | None,
    sentences: tuple[Sentence, ...],
    compared_with: list[str],
    max_facts: int,
) -> dict[str, Any]:
    """One event document; facts are capped in count, length and total bytes.

    `novelty` is what the article adds to its storyline; None for the first story of a new
    storyline, whose lede says what it is about.
    """
    if novelty is not None:
        facts = [_fact(n.sentence, n.new_units) for n in novelty.sentences]
    else:  # a new storyline: everything is new; its lede says what the story is
        facts = [_fact(s, s.units) for s in sentences if s.units][:LEDE_SENTENCES]
    event: dict[str, Any] = {
        "version": EVENT_VERSION,
        "id": event_id(event_type, story["id"], article["id"]),
        "type": event_type,
        "occurred_at": datetime.fromtimestamp(occurred_at, UTC).isoformat(timespec="seconds"),
        "story": story,
        "storyline": storyline,
        "article": article,
        "novelty": novelty.score if novelty is not None else None,
        "novel_facts": facts[:max_facts],
        "novel_facts_total": len(facts),
        "compared_with": compared_with[-MAX_COMPARED:],
        "compared_with_total": len(compared_with),
        "truncated": len(facts) > max_facts,
    }
    while len(json.dumps(event).encode()) > MAX_EVENT_BYTES and event["novel_facts"]:
        event["novel_facts"].pop()
        event["truncated"] = True
    return event


def _fact(sentence: Sentence, units: tuple[Any, ...]) -> dict[str, Any]:
    text = sentence.text
    if len(text) > MAX_SENTENCE_CHARS:
        text = text[: MAX_SENTENCE_CHARS - 1].rstrip() + "\u2026"
    return {
        "text": text,
        "sentence_index": sentence.index,
        "new_units": [u.to_dict() for u in units[:MAX_UNITS_PER_FACT]],
    }

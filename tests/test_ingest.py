"""The seeds as the product's first acceptance test, plus idempotency, revisions, restarts."""

from __future__ import annotations

import json

import pytest

from tests.conftest import NOW, SEEDS
from worker import Document, Pipeline, Settings

BOILERPLATE = [
    "Also Read", "Tom Cruise", "Leave a Reply", "email address will not be published",
    "Back To Top", "top of page", "bottom of page", "Wikimedia Commons",
    "Political Bias", "Center-Leaning", "The report delivers factual updates", "Comments",
]


def _headline_lines() -> list[str]:
    """The other stories' headlines listed under seeds 000 and 002, read from the seeds."""
    lines = []
    for path in SEEDS[0], SEEDS[2]:
        tail = path.read_text(encoding="utf-8").split("\n\n\n", 1)[1]
        lines += [line.strip() for line in tail.splitlines() if line.strip()]
    assert len(lines) >= 30
    return lines


def _facts(result) -> str:
    return "\n".join(
        f["text"] + " | " + " ".join(u["text"] for u in f["new_units"])
        for f in result.event["novel_facts"]
    )


def test_seeds_form_one_story_with_developments_in_002_and_004(pipeline, store, seed_docs,
                                                               validate_event):
    # Given the five seed articles, one story told by five outlets
    # When they are ingested in order
    results = [pipeline.ingest(d, store, now=NOW + i) for i, d in enumerate(seed_docs)]
    # Then all five land in one story, the first creating it
    assert {r.story_id for r in results} == {results[0].story_id}
    assert results[0].status == "new_story"
    assert results[0].event["type"] == "story.created"
    # And 002 and 004 are developments naming what they add
    assert results[2].status == "development" and results[4].status == "development"
    facts_002, facts_004 = _facts(results[2]), _facts(results[4])
    assert any(x in facts_002 for x in ("Dolmabahce", "Umerov", "Michael Anton", "0745 GMT"))
    assert any(x in facts_004 for x in ("Galuzin", "theater prop", "European leaders"))
    # And every event is valid against the published schema
    for r in results:
        if r.event:
            validate_event(r.event)
            assert r.event["story"]["id"] == r.story_id


def test_seed_facts_never_contain_boilerplate(pipeline, store, seed_docs):
    # Given the seeds' headline lists, teasers, comment forms, credits and ratings
    forbidden = BOILERPLATE + _headline_lines()
    # When the seeds are ingested
    results = [pipeline.ingest(d, store, now=NOW) for d in seed_docs]
    # Then no fact of any event, and no stored sentence, carries any of it
    texts = [f["text"] for r in results if r.event for f in r.event["novel_facts"]]
    texts += [row[0] for row in store.db.execute("SELECT text FROM sentences")]
    assert texts
    for text in texts:
        for junk in forbidden:
            assert junk not in text, (junk, text)


def test_ingest_twice_is_a_duplicate_without_a_second_event(pipeline, store, seed_docs):
    # Given a stored story
    first = [pipeline.ingest(d, store, now=NOW) for d in seed_docs]
    events_before = store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    # When the same inputs arrive again
    again = [pipeline.ingest(d, store, now=NOW + 60) for d in seed_docs]
    # Then each is a duplicate of the same article, and no event is added
    assert [r.status for r in again] == ["duplicate"] * 5
    assert [r.article_id for r in again] == [r.article_id for r in first]
    assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == events_before


def test_two_processes_give_the_same_result_as_one(tmp_path, seed_docs):
    # Given one run over all seeds and a second store fed 000-002, closed, then 003-004
    def run(parts: list[list[Document]], db: str) -> list[tuple]:
        out = []
        for part in parts:
            p = Pipeline(Settings(db_path=db))  # a fresh process's pipeline and connection
            store = p.open_store()
            out += [p.ingest(d, store, now=NOW) for d in part]
            store.close()
        return [(r.status, r.story_id, r.article_id,
                 json.dumps(r.event and r.event["novel_facts"])) for r in out]

    # When both are compared
    one = run([seed_docs], str(tmp_path / "one.db"))
    two = run([seed_docs[:3], seed_docs[3:]], str(tmp_path / "two.db"))
    # Then statuses, stories, articles and facts are identical
    assert one == two


def test_revision_of_same_url_joins_its_story_as_new_version(pipeline, store, seed_docs):
    # Given an article published at a URL
    base = seed_docs[2].body.split("\n\n\n")[0]
    url = "https://wire.example/2025/05/talks?utm_source=x"
    first = pipeline.ingest(Document("v1", base, "text", url=url), store, now=NOW)
    # When the wire updates it in place with an added paragraph (and another tracking tag)
    update = base + "\n\nUPDATE 2: Talks ended after 90 minutes, Turkish Foreign Minister Hakan Fidan said."
    second = pipeline.ingest(Document("v2", update, "text", url=url + "&fbclid=y"), store, now=NOW)
    # Then it is version 2 of the article, in the same story, and the added facts are new
    assert second.story_id == first.story_id
    row = store.db.execute("SELECT version, revision_of, match FROM articles WHERE id=?",
                           (second.article_id,)).fetchone()
    assert tuple(row) == (2, first.article_id, "revision")
    assert second.status == "development"
    assert "Hakan Fidan" in _facts(second)


def test_unrelated_article_starts_its_own_story(pipeline, store, seed_docs):
    # Given the seed story
    story = pipeline.ingest(seed_docs[0], store, now=NOW).story_id
    # When an article on another subject arrives
    other = (
        "Lindsay Lohan checked into the Betty Ford Center in Rancho Mirage on Friday, her lawyer "
        "Shawn Holley told a Los Angeles court, ending weeks of uncertainty about where the "
        "actress would serve her 90-day rehab sentence for a probation violation."
    )
    result = pipeline.ingest(Document("other", other, "text"), store, now=NOW)
    # Then it is a new story
    assert result.status == "new_story" and result.story_id != story


def test_story_window_closes_after_inactivity(pipeline, store, seed_docs, settings):
    # Given a story whose last article is older than the window
    first = pipeline.ingest(seed_docs[0], store, now=NOW)
    later = NOW + settings.story_window_s + 3600
    # When a same-story article arrives after the window
    result = pipeline.ingest(seed_docs[2], store, now=later)
    # Then it starts a new story
    assert result.status == "new_story" and result.story_id != first.story_id


@pytest.mark.parametrize(
    ("body", "kind", "reason"),
    [
        ("   \n", "text", "no_article_text"),
        ("Back To Top\nLeave a Reply\nComments", "text", "no_article_text"),
        ("<html><body><nav><a href='/'>Home</a></nav></body></html>", "html", "no_article_text"),
    ],
)
def test_inputs_without_article_text_are_rejected_and_recorded(pipeline, store, body, kind, reason):
    # Given a document with no article in it
    # When it is ingested
    result = pipeline.ingest(Document("bad", body, kind), store, now=NOW)
    # Then it is rejected with a precise reason, and the rejection is recorded
    assert result.status == "rejected" and result.error.startswith(reason)
    row = store.db.execute("SELECT input, reason FROM rejections").fetchone()
    assert tuple(row) == ("bad", reason)

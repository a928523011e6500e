"""Story review on both stores: a story that holds two events gives the second one its own
story (worker/reviewer.py), the index follows, and both stores agree."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import NOW
from worker import Document, Pipeline
from worker.config import Settings
from worker.pipeline.contribution import contribution
from worker.pipeline.matching import evidence_keys
from worker.pipeline.review import Member, second_event
from worker.store.base import Store

# Three outlets report one earthquake: another event than the seeds' peace talks.
QUAKE = [
    Document(
        "quake-a.txt",
        (
            "Chile earthquake kills four near Valparaiso\n\n"
            "A magnitude 7.1 earthquake struck off the coast of central Chile on Tuesday, killing "
            "four people in Valparaiso and cutting power to 300,000 homes, officials said. The "
            "quake hit at 10:32 local time at a depth of 35 kilometres, the U.S. Geological "
            "Survey said. Interior Minister Carolina Toha said rescue teams from Santiago had "
            "reached the port city. The navy's oceanographic service SHOA briefly issued a tsunami "
            "warning for the coast between Coquimbo and Concepcion, then lifted it. Chile's "
            "copper mines reported no damage, Codelco said in a statement."
        ),
        "text",
    ),
    Document(
        "quake-b.txt",
        (
            "Deadly quake shakes Valparaiso, tsunami alert lifted\n\n"
            "Four people died in Valparaiso after a 7.1-magnitude earthquake rocked central Chile "
            "on Tuesday morning, according to Interior Minister Carolina Toha. The U.S. Geological "
            "Survey put the epicentre offshore at a depth of 35 km; the shaking began at 10:32. "
            "Some 300,000 homes lost electricity. SHOA, the navy's tsunami service, warned "
            "residents from Coquimbo to Concepcion to move to higher ground before lifting the "
            "alert an hour later. State miner Codelco said its copper operations were unaffected."
        ),
        "text",
    ),
    Document(
        "quake-c.txt",
        (
            "Chile counts the cost of Tuesday's 7.1 earthquake\n\n"
            "Rescue crews from Santiago worked through the night in Valparaiso, where Tuesday's "
            "magnitude 7.1 earthquake killed four people, Interior Minister Carolina Toha told "
            "reporters. The quake, centred offshore at 35 kilometres depth by the U.S. Geological "
            "Survey's reckoning, left 300,000 homes without power. A tsunami warning for the "
            "coast from Coquimbo to Concepcion was lifted within the hour. Codelco reported its "
            "copper mines intact, and schools in the region will stay closed on Wednesday."
        ),
        "text",
    ),
]


def _copy(doc: Document, n: int) -> Document:
    return Document(f"{doc.origin}.copy{n}", doc.body + "\n\n" + "more " * n + "to follow.", "text")


def _members(docs: list[Document]) -> tuple[list[Member], dict[str, int], int]:
    members = []
    df: dict[str, int] = {}
    for d in docs:
        terms, keys = contribution(d.body)
        members.append(Member(d.origin, terms, evidence_keys(keys)))
        for t in terms:
            df[t] = df.get(t, 0) + 1
    return members, df, len(docs)


def test_second_event_finds_the_other_event(seed_docs) -> None:
    # Given the five seed reports of one story and three reports of an earthquake
    members, df, n = _members(seed_docs + QUAKE)
    # When the eight are reviewed as one story
    verdict = second_event(members, df, n, max_cut=0.55, min_group=3)
    # Then the earthquake reports are the second event
    assert verdict.moved == ("quake-a.txt", "quake-b.txt", "quake-c.txt")
    assert verdict.cut < 0.55


def test_one_event_is_left_whole(seed_docs) -> None:
    members, df, n = _members([*seed_docs, _copy(seed_docs[1], 1)])
    verdict = second_event(members, df, n, max_cut=0.55, min_group=3)
    assert verdict.moved == () and verdict.cut > 0.55
    # too few articles for two groups of three: not even weighed
    small = second_event(members[:5], df, n, max_cut=0.55, min_group=3)
    assert small.moved == ()


def _scenario(
    pipeline: Pipeline, store: Store, seed_docs: list[Document], *, by_person: bool = False
) -> dict[str, Any]:
    """Seeds and quake reports in; the quake story merged into the seeds' (the matcher's
    mistake, made by hand, or a person's call); seed copies bring the story to a review size."""
    clock = iter(range(100))
    ingest = lambda d: pipeline.ingest(d, store, now=NOW + next(clock))  # noqa: E731
    seeds = [ingest(d) for d in seed_docs]
    quakes = [ingest(d) for d in QUAKE]
    story, quake_story = seeds[0].story_id, quakes[0].story_id
    assert {r.story_id for r in seeds} == {story} and {r.story_id for r in quakes} == {quake_story}
    assert quake_story != story
    store.operator().merge(quake_story, story, now=NOW + 50, by_person=by_person)  # 8 articles
    copies = [ingest(_copy(seed_docs[i], 1)) for i in (1, 2, 3)]  # the 11th is reviewed
    after = {s["id"]: s["article_count"] for s in store.list_stories()}
    new = [sid for sid in after if sid != story]
    new_articles = store.story_article_ids(new[0]) if len(new) == 1 else None
    late_quake = ingest(_copy(QUAKE[1], 2))
    return {
        "story": story,
        "quake_ids": [r.article_id for r in quakes],
        "copies": [(r.status, r.story_id) for r in copies],
        "review_events": [r.review_event for r in copies],
        "quake_events": store.list_events(story_id=new[0]) if len(new) == 1 else None,
        "after": after,
        "new": new,
        "new_articles": new_articles,
        "late_quake": (late_quake.status, late_quake.story_id),
        "actions": store.operator().actions(),
        "detail": store.story_detail(story),
        "storylines": store.list_storylines(),
    }


def _check(out: dict[str, Any]) -> None:
    story = out["story"]
    assert [s for s, _ in out["copies"]] == ["duplicate"] * 3
    assert {sid for _, sid in out["copies"]} == {story}
    # the review moved the three quake reports, and only them, into one new story
    assert len(out["new"]) == 1, out["after"]
    new = out["new"][0]
    assert out["after"] == {story: 8, new: 3}
    assert out["new_articles"] == out["quake_ids"]
    # the index follows: a later copy of a quake report finds the quake story
    assert out["late_quake"] == ("duplicate", new)
    review = out["actions"][0]
    assert review["action"] == "review_split"
    assert review["from_story"] == story and review["story"] == new
    assert review["articles"] == out["quake_ids"] and review["cut"] <= 0.55
    assert out["detail"]["article_count"] == 8
    # the split-out story stays in the storyline (the quake's own went with the merge)
    assert [(r["story_count"], r["article_count"]) for r in out["storylines"]] == [(2, 12)]
    assert out["storylines"][0]["id"] == out["detail"]["storyline_id"]
    # the ingest that set off the review announces the new story, and it is stored
    first, second, third = out["review_events"]
    assert first is None and second is None and third is not None
    assert third["type"] == "story.created" and third["story"]["id"] == new
    assert third["story"]["article_count"] == 3
    assert third["article"]["id"] == out["quake_ids"][0]
    assert any("7.1" in f["text"] for f in third["novel_facts"])
    # the story's timeline: the moved articles' own events, then the announcement
    assert out["quake_events"][-1]["id"] == third["id"]
    assert {e["article"]["id"] for e in out["quake_events"]} <= set(out["quake_ids"])


def test_review_splits_a_second_event_on_both_stores(
    settings, store, seed_docs, make_redis_store, validate_event
):
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    via_sqlite = _scenario(Pipeline(settings), store, seed_docs)
    via_redis = _scenario(Pipeline(settings), redis_store, seed_docs)
    _check(via_sqlite)
    _check(via_redis)
    validate_event(via_sqlite["review_events"][2])
    for key in (
        "copies", "after", "new", "new_articles", "late_quake", "review_events", "storylines",
    ):  # fmt: skip
        assert via_redis[key] == via_sqlite[key], key


def test_review_off_leaves_the_story(tmp_path, seed_docs) -> None:
    settings = Settings(db_path=str(tmp_path / "off.db"), review_max_cut=0)
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    out = _scenario(pipeline, store, seed_docs)
    assert out["after"] == {out["story"]: 11}
    store.close()


def test_a_story_a_person_merged_is_not_split_again(settings, store, seed_docs, make_redis_store):
    # Given the same two events, merged into one story by a person on each store
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    for each in (store, redis_store):
        out = _scenario(Pipeline(settings), each, seed_docs, by_person=True)
        # Then the review at 11 articles leaves the person's story whole
        assert out["after"] == {out["story"]: 11}
        assert [a["action"] for a in out["actions"]] == ["merge"]


def test_one_review_of_a_story_at_a_time(store, settings, make_redis_store) -> None:
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    for each in (store, redis_store):
        op = each.operator()
        assert op.claim_review("s_1", now=NOW, ttl_s=60)
        assert not op.claim_review("s_1", now=NOW + 1, ttl_s=60)  # held
        assert op.claim_review("s_2", now=NOW + 1, ttl_s=60)  # another story
        op.release_review("s_1")
        assert op.claim_review("s_1", now=NOW + 2, ttl_s=0.05)
    time.sleep(0.1)  # Redis expires the claim on its own clock
    assert store.operator().claim_review("s_1", now=NOW + 3, ttl_s=60)  # lapsed
    assert redis_store.operator().claim_review("s_1", now=NOW + 3, ttl_s=60)

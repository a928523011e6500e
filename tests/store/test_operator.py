"""Operator corrections on both stores: the same merge, split and "not new" give the same
stories, and the story index follows them (copies of a moved article find its new story)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import NOW
from tests.store.test_contract import SIG, aid, article_row, ingested, lid, published, sid
from worker import Document, Pipeline
from worker.errors import CorrectionRefused
from worker.pipeline.contribution import contribution
from worker.pipeline.storylines import merge_names, storyline_share
from worker.pipeline.matching import merge_terms
from worker.pipeline.timing import EventTime, Span
from worker.pipeline.titles import headline
from worker.store.base import Store, StorylineRow
from worker.store.sqlite import SqliteStore


def _copy(doc: Document, n: int) -> Document:
    """A lightly edited copy: a near-duplicate of `doc`, not the same words."""
    return Document(
        f"{doc.origin}.copy{n}", doc.body + "\n\n" + "more " * n + "to follow.", doc.kind
    )


_LONE = Document("lone.txt", "Glaciologists report the Thwaites ice shelf cracked. " * 15, "text")


def _scenario(pipeline: Pipeline, store: Store, seeds: list[Document]) -> dict[str, Any]:
    """Seeds in; split 002 out; copies of 002 and 004; merge back; 004 judged not new."""
    clock = iter(range(100))
    ingest = lambda d: pipeline.ingest(d, store, now=NOW + next(clock))  # noqa: E731
    seen = [ingest(d) for d in seeds]
    story = seen[0].story_id
    op = store.operator()
    out: dict[str, Any] = {"seen": [r.to_dict() for r in seen]}

    split = op.split(seen[2].article_id, now=NOW + 50)
    out["split"] = split
    out["after_split"] = store.list_stories()
    # copies of the split article go to its new story, copies of the others stay
    out["copy_002"] = ingest(_copy(seeds[2], 1))
    out["copy_004"] = ingest(_copy(seeds[4], 1))
    merged = op.merge(split["story"], story, now=NOW + 60)
    out["merge"] = merged
    out["copy_002_after_merge"] = ingest(_copy(seeds[2], 2))
    event = seen[4].event["id"]
    out["not_new"] = op.mark_not_new(event, now=NOW + 70)
    out["not_new_again"] = op.mark_not_new(event, now=NOW + 71)
    out["detail"] = store.story_detail(story)
    out["stories"] = store.list_stories()
    out["storylines"] = store.list_storylines()
    out["export"] = list(store.export_articles())
    out["actions"] = [(a["action"], a["at"]) for a in op.actions()]
    refusals = []
    for call in (
        lambda: op.merge(story, story, now=NOW),
        lambda: op.merge("s_0000000000000000", story, now=NOW),
        lambda: op.split("a_0000000000000000", now=NOW),
        lambda: op.split(ingest(_LONE).article_id, now=NOW),
        lambda: op.mark_not_new(seen[0].event["id"], now=NOW),
        lambda: op.mark_not_new("evt_" + "0" * 24, now=NOW),
    ):
        with pytest.raises(CorrectionRefused) as refused:
            call()
        refusals.append(refused.value.code)
    out["refusals"] = refusals
    return out


def _check(out: dict[str, Any]) -> None:
    seen = out["seen"]
    story, a2, a4 = seen[0]["story_id"], seen[2]["article_id"], seen[4]["article_id"]
    assert [r["status"] for r in seen] == [
        "new_story", "development", "development", "duplicate", "development"
    ]  # fmt: skip
    new = out["split"]["story"]
    assert out["split"] == {"article": a2, "from_story": story, "story": new}
    counts = {s["id"]: (s["article_count"], s["development_count"]) for s in out["after_split"]}
    assert counts == {story: (4, 2), new: (1, 0)}
    # the split story stays in the story's storyline
    assert {s["storyline_id"] for s in out["after_split"]} == {seen[0]["storyline_id"]}
    # the index follows: a copy of 002 joins 002's new story; a copy of 004 (whose place in
    # the old story's list moved up by one) still finds 004 in the old story
    assert (out["copy_002"].story_id, out["copy_002"].status) == (new, "duplicate")
    assert out["copy_004"].story_id == story and out["copy_004"].status == "duplicate"
    assert out["merge"] == {"source": new, "target": story, "articles_moved": 2}
    assert out["copy_002_after_merge"].story_id == story
    assert out["not_new"]["already_marked"] is False and out["not_new"]["story"] == story
    assert out["not_new"]["article"] == a4 and out["not_new"]["units"] > 0
    assert out["not_new_again"]["already_marked"] is True
    detail = out["detail"]
    ids = [a["id"] for a in detail["articles"]]
    assert ids[:5] == [r["article_id"] for r in seen] and len(ids) == 8  # ingest order
    statuses = {a["id"]: a["status"] for a in detail["articles"]}
    assert statuses[a4] == "duplicate" and statuses[a2] == "new_story"
    assert detail["article_count"] == 8 and detail["development_count"] == 1
    assert [s["id"] for s in out["stories"]][-1] == story
    assert [a for a, _ in out["actions"]] == ["not_new", "merge", "split"]
    line = next(r for r in out["storylines"] if r["id"] == seen[0]["storyline_id"])
    assert (line["story_count"], line["article_count"]) == (1, 8)
    assert {e["storyline_id"] for e in out["export"] if e["story_id"] == story} == {line["id"]}
    assert out["refusals"] == [
        "invalid", "not_found", "not_found", "conflict", "invalid", "not_found"
    ]  # fmt: skip


def test_operator_corrections_agree_on_both_stores(settings, store, seed_docs, make_redis_store):
    # Given one SQLite and one Redis store for the same settings
    redis_store = make_redis_store(index_signature=Pipeline(settings).index_signature)
    # When the same inputs and corrections go to each
    via_sqlite = _scenario(Pipeline(settings), store, seed_docs)
    via_redis = _scenario(Pipeline(settings), redis_store, seed_docs)
    # Then each did what was asked, and both show the same stories
    _check(via_sqlite)
    _check(via_redis)
    for key in (
        "split", "merge", "not_new", "detail", "stories", "storylines", "export", "actions",
        "refusals",
    ):  # fmt: skip
        assert via_redis[key] == via_sqlite[key], key


def test_a_merge_leaves_nothing_of_the_source_in_redis(settings, seed_docs, make_redis_store):
    # Given two stories on Redis
    pipeline = Pipeline(settings)
    store = make_redis_store(index_signature=pipeline.index_signature)
    first = pipeline.ingest(seed_docs[0], store, now=NOW)
    other = pipeline.ingest(_LONE, store, now=NOW + 1)
    assert other.story_id != first.story_id
    # When the second is merged into the first
    store.operator().merge(other.story_id, first.story_id, now=NOW + 2)
    # Then no key of the source story remains and the index names only the target
    left = [k for k in store.r.scan_iter(match=f"{store.keys.story(other.story_id)}*")]
    assert left == []
    seqs = {m.decode() for m in store.r.zrange(store.keys.index_seen, 0, -1)}
    assert seqs == {str(store.story_summary(first.story_id)["seq"])}
    again = pipeline.ingest(_copy(_LONE, 1), store, now=NOW + 3)
    assert again.story_id == first.story_id


# -- storyline corrections, on both stores ---------------------------------------------------

_TEXTS = {
    1: "Chile earthquake kills four in Valparaiso. Interior Minister Carolina Toha said "
    "300,000 homes lost power on Tuesday.",
    2: "Rescue crews from Santiago reached Valparaiso overnight, hours after the quake struck "
    "the port city. Codelco said its copper mines were unaffected.",
    3: "Schools in Valparaiso stay closed on Wednesday. Aftershocks rattled the coast from "
    "Coquimbo to Concepcion.",
    4: "Negotiators meet in Istanbul for a second round of talks. Rustem Umerov leads the "
    "delegation.",
}


def _stored(store: Store, n: int, story: int, line: int, when: EventTime, **row: Any) -> None:
    """Article `n` (its text in _TEXTS) joins story `story` of storyline `line`, with its
    share of both centroids and its facts; a new story or storyline when it is the first."""
    terms, keys = contribution(_TEXTS[n])
    with store.transaction():
        have = store.stories([sid(story)]).get(sid(story))
        line_row = store.storylines([lid(line)]).get(lid(line))
        if line_row is None:
            store.create_storyline(lid(line), row.get("title"), when)
        if have is None:
            store.create_story(sid(story), row.get("title"), when, storyline_id=lid(line))
        first = [(aid(n), i, s, "[]", "[]") for i, s in enumerate(_TEXTS[n].split(". "))]
        over = {"event_time": when.at, "time_source": when.source, "ingested_at": when.ingested_at}
        store.add_article(article_row(aid(n), sid(story), text=_TEXTS[n], **{**over, **row}), first)
        store.add_keys(sid(story), keys, aid(n))
        store.add_keys(lid(line), keys, aid(n))
        developed = row.get("status") == "development"
        store.update_story(
            sid(story), terms=merge_terms(have.terms if have else {}, terms), when=when,
            developed=developed,
        )  # fmt: skip
        store.update_storyline(
            lid(line), terms=merge_names(line_row.terms if line_row else {}, terms), when=when,
            new_story=have is None, developed=developed,
        )  # fmt: skip


def _storyline_scenario(store: Store) -> dict[str, Any]:
    """Storyline 1: story 1 (articles 1, 2: a dated, untitled development) and story 2
    (article 3); storyline 2: story 3 (article 4). Then: 2 split out of story 1, story 2 given
    a storyline of its own, story 3 merged into story 1, story 2's storyline merged back."""
    _stored(store, 1, 1, 1, ingested(100.0), title="Quake hits Chile")
    _stored(store, 2, 1, 1, published(90.0, 200.0), title=None, status="development")
    _stored(store, 3, 2, 1, ingested(300.0), title="Schools closed")
    _stored(store, 4, 3, 2, ingested(400.0), title="Talks in Istanbul")
    op, out = store.operator(), {}

    def look(step: str) -> None:
        out[step] = {
            "storylines": store.list_storylines(),
            "details": {r["id"]: store.storyline_detail(r["id"]) for r in store.list_storylines()},
            "terms": {i: r.terms for i, r in store.storylines([lid(1), lid(2)]).items()},
            "export": [
                (e["id"], e["story_id"], e["storyline_id"]) for e in store.export_articles()
            ],
        }

    look("before")
    out["split"] = op.split(aid(2), now=1000.0)
    out["split_story"] = store.story_summary(out["split"]["story"])
    look("after_split")
    out["split_storyline"] = op.split_storyline(sid(2), now=1100.0)
    own = out["split_storyline"]["storyline"]
    # a person's split stands: the pipeline's consolidation leaves both storylines alone
    out["split_by_person"] = (op.reviewed_by_person(lid(1)), op.reviewed_by_person(own))
    refusals = []
    for call in (
        lambda: op.split_storyline(sid(2), now=0.0),  # alone in its storyline now
        lambda: op.split_storyline(sid(3), now=0.0),  # alone from the start
    ):
        with pytest.raises(CorrectionRefused) as refused:
            call()
        refusals.append(refused.value.code)
    out["own_line"] = store.storylines([own])[own]
    out["facts_after_split_storyline"] = {
        "own": store.known_keys(own, contribution(_TEXTS[3])[1]),
        "old": store.known_keys(lid(1), contribution(_TEXTS[3])[1]),
    }
    look("after_split_storyline")
    out["merge"] = op.merge(sid(3), sid(1), now=1200.0)
    out["facts_after_merge"] = store.known_keys(lid(1), contribution(_TEXTS[4])[1])
    look("after_merge")
    out["merge_storylines"] = op.merge_storylines(own, lid(1), now=1300.0)
    out["facts_after_merge_storylines"] = store.known_keys(lid(1), contribution(_TEXTS[3])[1])
    look("after_merge_storylines")
    out["gone"] = (store.storylines([lid(2), own]), store.storyline_detail(own))
    for call in (
        lambda: op.merge_storylines(lid(1), lid(1), now=0.0),
        lambda: op.merge_storylines(lid(9), lid(1), now=0.0),
        lambda: op.merge_storylines(lid(1), lid(9), now=0.0),
        lambda: op.split_storyline(sid(9), now=0.0),
    ):
        with pytest.raises(CorrectionRefused) as refused:
            call()
        refusals.append(refused.value.code)
    out["refusals"] = refusals
    out["actions"] = [a["action"] for a in op.actions()]
    return out


def _check_storylines(out: dict[str, Any]) -> None:
    new, own = out["split"]["story"], out["split_storyline"]["storyline"]
    terms = {n: contribution(_TEXTS[n])[0] for n in _TEXTS}
    before = {r["id"]: r for r in out["before"]["storylines"]}
    assert (before[lid(1)]["story_count"], before[lid(1)]["article_count"]) == (2, 3)
    assert before[lid(1)]["development_count"] == 1
    # split: the article's story stays in the storyline, dated by the article's own (event)
    # time, not the correction's, and titled by its first sentence (it has no title)
    assert out["split"] == {"article": aid(2), "from_story": sid(1), "story": new}
    story = out["split_story"]
    assert story["storyline_id"] == lid(1)
    assert (story["created_at"], story["last_seen_at"]) == (90.0, 90.0)
    assert (story["first_published_at"], story["last_published_at"]) == (90.0, 90.0)
    assert story["last_ingested_at"] == 200.0
    assert story["title"] == headline(_TEXTS[2].split(". ")[0])
    line = {r["id"]: r for r in out["after_split"]["storylines"]}[lid(1)]
    assert (line["story_count"], line["article_count"], line["development_count"]) == (3, 3, 0)
    assert (line["first_published_at"], line["last_ingested_at"]) == (90.0, 300.0)
    stories = out["after_split"]["details"][lid(1)]["stories"]
    assert [s["id"] for s in stories] == [new, sid(1), sid(2)]  # oldest first: 90, 100, 300
    # split_storyline: story 2 leaves with its centroid share and the facts it brought
    assert out["split_storyline"] == {"story": sid(2), "from_storyline": lid(1), "storyline": own}
    assert out["split_by_person"] == (True, True)
    assert out["own_line"] == StorylineRow(own, "Schools closed", 1, 1, storyline_share(terms[3]),
                                           Span(None, None, 300.0))  # fmt: skip
    assert out["after_split_storyline"]["terms"][lid(1)] == storyline_share(
        merge_terms(terms[1], terms[2])
    )
    facts = out["facts_after_split_storyline"]
    assert facts["own"] == contribution(_TEXTS[3])[1]
    assert facts["old"] == contribution(_TEXTS[3])[1] & (
        contribution(_TEXTS[1])[1] | contribution(_TEXTS[2])[1]
    )  # what articles 1 and 2 brought first stays
    lines = {r["id"]: r for r in out["after_split_storyline"]["storylines"]}
    assert (lines[lid(1)]["story_count"], lines[lid(1)]["article_count"]) == (2, 2)
    assert lines[lid(1)]["last_ingested_at"] == 200.0  # recounted without story 2
    # merge across storylines: storyline 2 had only story 3, so it goes; storyline 1 takes
    # story 3's centroid share and facts
    assert out["merge"] == {"source": sid(3), "target": sid(1), "articles_moved": 1}
    after = out["after_merge"]
    assert lid(2) not in {r["id"] for r in after["storylines"]}
    assert lid(2) not in after["terms"]
    assert after["terms"][lid(1)] == storyline_share(
        merge_terms(merge_terms(terms[1], terms[2]), terms[4])
    )
    assert out["facts_after_merge"] == contribution(_TEXTS[4])[1]
    line = {r["id"]: r for r in after["storylines"]}[lid(1)]
    assert (line["story_count"], line["article_count"], line["last_ingested_at"]) == (2, 3, 400.0)
    # merge_storylines: story 2 comes back with its share and facts; its storyline goes
    assert out["merge_storylines"] == {"source": own, "target": lid(1), "stories_moved": 1}
    final = out["after_merge_storylines"]
    assert [r["id"] for r in final["storylines"]] == [lid(1)]
    assert final["storylines"][0]["story_count"] == 3
    assert final["storylines"][0]["article_count"] == 4
    assert [s["id"] for s in final["details"][lid(1)]["stories"]] == [new, sid(1), sid(2)]
    assert out["facts_after_merge_storylines"] == contribution(_TEXTS[3])[1]
    assert out["gone"] == ({}, None)
    assert final["export"] == [
        (aid(1), sid(1), lid(1)), (aid(2), new, lid(1)), (aid(3), sid(2), lid(1)),
        (aid(4), sid(1), lid(1)),
    ]  # fmt: skip
    assert out["refusals"] == [
        "conflict", "conflict", "invalid", "not_found", "not_found", "not_found"
    ]  # fmt: skip
    assert out["actions"] == ["merge_storylines", "merge", "split_storyline", "split"]


def test_storyline_corrections_agree_on_both_stores(tmp_path, make_redis_store):
    # Given one SQLite and one Redis store holding the same two storylines
    sqlite_store = SqliteStore(str(tmp_path / "lines.db"), index_signature=SIG)
    redis_store = make_redis_store(index_signature=SIG)
    # When the same corrections go to each
    via_sqlite = _storyline_scenario(sqlite_store)
    via_redis = _storyline_scenario(redis_store)
    sqlite_store.close()
    # Then each did what was asked, and both show the same storylines
    _check_storylines(via_sqlite)
    _check_storylines(via_redis)
    assert via_redis == via_sqlite

"""The use case: one document in, one IngestResult out, all state changes in one transaction."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

from worker.config import Settings
from worker.errors import BadInput, CorrectionRefused, IngestError, PermanentError
from worker.models import Article, Document, IngestResult
from worker.pipeline import extract
from worker.pipeline.analysis import Analysis, analyse, to_article
from worker.pipeline.events import build_event
from worker.pipeline.facts import article_sentences
from worker.pipeline.fingerprint import Signer, band_keys, estimate_jaccard, lsh_params
from worker.pipeline.matching import Candidate, best_story, evidence_keys, merge_terms
from worker.pipeline.novelty import Novelty, assess
from worker.pipeline.salience import salient_terms, weigh
from worker.pipeline.storylines import (
    StorylineMatch,
    best_storyline,
    closest_storyline,
    consolidation_due,
    merge_names,
)
from worker.pipeline.timing import EventTime, event_time
from worker.pipeline.titles import headline
from worker.reviewer import Reviewer
from worker.store.base import Store, StorylineRow, StoryRow
from worker.store.redis_store import RedisStore
from worker.store.sqlite import SqliteStore

__all__ = ["Pipeline"]

logger = logging.getLogger(__name__)

StageObserver = Callable[[str, float], None]
PRUNE_EVERY = 1000  # ingests between sweeps of the LSH rows of stories past their window


class Pipeline:
    """Settings plus the per-process pieces (signer, LSH parameters, extractor config)."""

    def __init__(self, settings: Settings, *, on_stage: StageObserver | None = None):
        """`on_stage(name, seconds)` hears how long each stage of an ingest took (metrics)."""
        self.settings = settings
        self._on_stage = on_stage
        self._inner_s = 0.0  # match + novelty time inside the current record step
        self.signer = Signer(settings.num_perm, settings.minhash_seed)
        self.dup_params = lsh_params(settings.dup_lsh_threshold, settings.num_perm)
        self.story_params = (
            (settings.story_lsh_bands, settings.story_lsh_rows)
            if settings.story_lsh_rows
            else lsh_params(settings.story_lsh_threshold, settings.num_perm)
        )
        self.extract_config = extract.make_config()
        self._since_reset = 0
        self._since_prune = 0
        self._clock: float | None = None  # newest publication time ingested: the stream's clock
        self.reviewer = Reviewer(settings)

    @property
    def index_signature(self) -> str:
        """Everything that defines the stored index; a store built with other values refuses."""
        s = self.settings
        return (
            f"v1:p{s.num_perm}:s{s.minhash_seed}:dup{self.dup_params}:story{self.story_params}"
            f":k{s.salient_terms}"
        )

    def open_store(self) -> Store:
        """The store the settings name: Redis when `redis_url` is set, else the SQLite file."""
        s = self.settings
        if s.redis_url:
            return RedisStore.from_url(
                s.redis_url,
                index_signature=self.index_signature,
                namespace=s.redis_namespace,
                retention_s=s.redis_retention_s,
            )
        return SqliteStore(s.db_path, index_signature=self.index_signature)

    def ingest(self, doc: Document, store: Store, *, now: float) -> IngestResult:
        """Extract, match, judge novelty and record; bad input becomes a recorded rejection."""
        try:
            with self._stage("extract"):
                analysis = self._analyse(doc)
        except PermanentError as exc:
            return self.reject(doc.origin, exc, store, now=now)
        except Exception as exc:  # a bug on one input must not stop the inputs after it
            logger.exception("extracting %s failed", doc.origin)
            error = PermanentError(f"internal error: {type(exc).__name__}", reason="internal_error")
            return self.reject(doc.origin, error, store, now=now)
        started, self._inner_s = time.perf_counter(), 0.0
        with store.transaction():
            result, story_size, line_check = self._record(doc.origin, analysis, store, now)
        if line_check is not None:
            with self._stage("consolidate", inner=True):
                result = self._consolidate(result, line_check, store, now)
        if result.status != "new_story" and self.reviewer.due(story_size):
            with self._stage("review", inner=True):
                result = self._review(result, store, now)
        if self._on_stage is not None:  # the record step and the commit, minus its stages
            self._on_stage("store", time.perf_counter() - started - self._inner_s)
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            with store.transaction():
                pruned = store.prune_index(self.prune_before(now))
            logger.info("pruned %d LSH rows of stories past their window", pruned)
        return result

    def prune_before(self, now: float) -> float:
        """Stories last seen before this time leave the index: past both windows on the
        stream's clock (the newest publication time ingested, never past `now`), so an
        archive replayed today keeps its stories while its own time says they are live."""
        s = self.settings
        clock = now if self._clock is None else min(now, self._clock)
        return clock - max(s.story_window_s, s.storyline_window_s)

    def event_time(self, published_ts: float | None, now: float) -> EventTime:
        """The article's event time (worker/pipeline/timing.py) under these settings."""
        s = self.settings
        return event_time(
            published_ts, now, max_skew_s=s.published_max_skew_s, floor_ts=s.published_floor_ts
        )

    @contextmanager
    def _stage(self, name: str, *, inner: bool = False) -> Iterator[None]:
        """Time a stage for `on_stage`; `inner` stages are inside the record step."""
        if self._on_stage is None:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - started
            if inner:
                self._inner_s += took
            self._on_stage(name, took)

    def reject(self, origin: str, exc: IngestError, store: Store, *, now: float) -> IngestResult:
        """Record why an input was not accepted; the rejected line `ingest --json` prints."""
        logger.warning("rejected %s: %s", origin, exc)
        with store.transaction():
            store.add_rejection(origin, exc.reason, exc.message, now)
        return IngestResult(input=origin, status="rejected", error=str(exc))

    def _analyse(self, doc: Document) -> Analysis:
        if len(doc.body.encode("utf-8", "surrogatepass")) > self.settings.max_input_bytes:
            raise BadInput(
                f"input is larger than max_input_bytes={self.settings.max_input_bytes}",
                reason="too_large",
            )
        self._since_reset += 1
        if self._since_reset >= self.settings.extract_cache_reset_every:
            self._since_reset = 0
            extract.reset_caches()  # trafilatura caches grow ~1 MB per page (#216)
        article = to_article(
            doc, min_chars=self.settings.min_article_chars, extract_config=self.extract_config
        )
        return analyse(article, self.signer)

    def _review(self, result: IngestResult, store: Store, now: float) -> IngestResult:
        """Review the story the article joined. A story split out of it is announced with a
        `story.created` event; the result follows the article if it moved."""
        assert result.story_id is not None
        moved = self.reviewer.review(store, result.story_id, now=now)
        if moved is None:
            return result
        with store.transaction():
            event = self._split_event(moved["story"], store, now)
            stored = store.add_event(event, at=now)
        story_id = moved["story"] if result.article_id in moved["articles"] else result.story_id
        return replace(result, story_id=story_id, review_event=event if stored else None)

    def _consolidate(
        self, result: IngestResult, others: list[str], store: Store, now: float
    ) -> IngestResult:
        """Merge the article's young storyline into a larger nearby one whose centroid names
        agree (worker/pipeline/storylines.py)."""
        own = result.storyline_id
        assert own is not None
        rows = store.storylines([own, *others])
        if own not in rows:
            return result
        terms = {t for r in rows.values() for t in r.terms}
        found = closest_storyline(
            rows[own].terms,
            [(lid, rows[lid].terms) for lid in others if lid in rows],
            store.doc_freqs(terms),
            store.doc_count(),
            self.settings.storyline_merge_similarity,
        )
        if found is None:
            return result
        other = rows[found[0]]
        if other.article_count < rows[own].article_count:
            return result  # a young storyline joins a larger one, never the other way
        small, big = own, other.id
        op = store.operator()
        if op.reviewed_by_person(small) or op.reviewed_by_person(big):
            return result  # a person split them apart: that call stands
        try:
            op.merge_storylines(small, big, now=now, by_person=False)
        except CorrectionRefused as exc:  # a person or another worker moved it meanwhile
            logger.info("storyline %s not merged into %s: %s", small, big, exc)
            return result
        logger.info("storyline %s merged into %s (names %.2f)", small, big, found[1])
        return replace(result, storyline_id=big)

    def _split_event(self, story_id: str, store: Store, now: float) -> dict[str, Any]:
        """`story.created` for a story a review split out: its first article and its lede."""
        detail = store.story_detail(story_id)
        assert detail is not None
        first = detail["articles"][0]
        text = store.article_texts([first["id"]])[first["id"]]
        line = store.storylines([detail["storyline_id"]])[detail["storyline_id"]]
        return build_event(
            "story.created",
            story={
                "id": story_id, "title": detail["title"], "article_count": detail["article_count"]
            },
            storyline={"id": line.id, "title": line.title, "story_count": line.story_count},
            article={k: first[k] for k in ("id", "url", "title", "source", "published_at")},
            occurred_at=now,
            novelty=None,
            sentences=article_sentences(Article(text).paragraphs),
            compared_with=[],
            max_facts=self.settings.max_event_facts,
        )  # fmt: skip

    def _record(
        self, origin: str, a: Analysis, store: Store, now: float
    ) -> tuple[IngestResult, int, list[str] | None]:
        """Store the article; the result, the size of its story now (0: not stored) and, when
        its storyline is due a consolidation check, the other storylines to check it with."""
        s = self.settings
        same = store.article_by_hash(a.content_hash)
        if same is not None:  # byte-for-byte the same words: nothing to store, no event
            row = store.stories([same["story_id"]]).get(same["story_id"])
            storyline = row.storyline_id if row else None
            result = IngestResult(origin, "duplicate", same["story_id"], same["id"])
            return replace(result, storyline_id=storyline), 0, None
        when = self.event_time(a.published_ts, now)
        article_id = "a_" + a.content_hash[:16]
        n_docs = store.doc_count()
        df = store.doc_freqs(a.terms)
        vec = weigh(a.terms, df, n_docs)
        dup_keys = band_keys(a.dup_signature, *self.dup_params, tag=b"d")
        story_sig = self.signer.sign(salient_terms(vec, s.salient_terms))
        story_keys = band_keys(story_sig, *self.story_params, tag=b"s")

        previous = store.latest_by_url(a.canonical_url) if a.canonical_url else None
        version, revision_of = 1, None
        story_id: str | None
        row: StoryRow | None = None
        line: StorylineRow | None = None
        nearby: list[str] = []
        if previous is not None:  # a wire updating its story in place: same story, new version
            story_id, match, similarity = previous["story_id"], "revision", None
            version, revision_of = previous["version"] + 1, previous["id"]
        else:
            with self._stage("match", inner=True):
                match, similarity, row, line, nearby = self._match(
                    a, store, vec, df, n_docs, dup_keys, story_keys, when
                )
            story_id = row.id if row else None

        # every read happens above this line and in this block; only writes follow it, so a
        # store may buffer the writes and apply them atomically at commit (RedisStore does)
        novelty: Novelty | None = None
        story_terms: dict[str, int] = {}
        if story_id is None:  # a new story, in the storyline chosen or a new one
            story_id = "s_" + a.content_hash[:16]
            title, count, compared = a.article.title or _headline(a), 0, []
            status, event_type = "new_story", "story.created"
        else:
            row = row or store.stories([story_id])[story_id]
            title, count, story_terms = row.title, row.article_count, row.terms
            compared = store.story_article_ids(story_id)
            status, event_type = "duplicate", ""
        if row is not None and (line is None or line.id != row.storyline_id):
            line = store.storylines([row.storyline_id]).get(row.storyline_id)
        storyline_id = line.id if line else "l_" + a.content_hash[:16]
        if line is not None:  # novelty is judged against everything the storyline holds
            with self._stage("novelty", inner=True):
                novelty = assess(a.sentences, store.known_keys(storyline_id, a.vocabulary))
            developed = novelty.is_development(
                min_new_weight=s.min_new_weight, min_novelty=s.min_novelty
            )
            if status == "duplicate" and developed:
                status, event_type = "development", "story.new_development"
        storyline = {
            "id": storyline_id,
            "title": line.title if line else title,
            "story_count": (line.story_count if line else 0) + (count == 0),
        }
        event = None
        if event_type:
            event = self._event(
                event_type,
                story={"id": story_id, "title": title, "article_count": count + 1},
                storyline=storyline,
                article_id=article_id,
                a=a,
                novelty=novelty,
                compared_with=compared,
                now=now,
            )

        if line is None:
            store.create_storyline(storyline_id, title, when)
        if count == 0:
            store.create_story(story_id, title, when, storyline_id=storyline_id)
        new_units = {id(u) for n in (novelty.sentences if novelty else ()) for u in n.new_units}
        sentence_rows = []
        for x in a.sentences:
            units = json.dumps([u.to_dict() for u in x.units]) if x.units else "[]"
            new = units  # a new storyline: every unit is new
            if novelty is not None:
                fresh = [u for u in x.units if id(u) in new_units]
                if len(fresh) < len(x.units):  # all new: the same JSON, not serialised twice
                    new = json.dumps([u.to_dict() for u in fresh]) if fresh else "[]"
            sentence_rows.append((article_id, x.index, x.text, units, new))
        store.add_article(
            {
                "id": article_id,
                "story_id": story_id,
                "input": origin,
                "status": status,
                "match": match,
                "similarity": similarity,
                "novelty": novelty.score if novelty else None,
                "content_hash": a.content_hash,
                "canonical_url": a.canonical_url,
                "version": version,
                "revision_of": revision_of,
                "url": a.article.url,
                "title": a.article.title,
                "source": a.article.source,
                "author": a.article.author,
                "published_at": a.article.published_at,
                "language": a.article.language,
                "site_name": a.article.site_name,
                "text": a.article.text,
                "event_time": when.at,
                "time_source": when.source,
                "ingested_at": now,
                "dup_sig": a.dup_signature.tobytes(),
            },
            sentence_rows,
        )
        store.add_keys(story_id, a.vocabulary, article_id)
        store.add_keys(storyline_id, a.vocabulary, article_id)
        developed = status == "development"
        store.update_story(
            story_id, terms=merge_terms(story_terms, a.terms), when=when, developed=developed
        )
        store.update_storyline(
            storyline_id,
            terms=merge_names(line.terms if line else {}, a.terms),
            when=when,
            new_story=count == 0,
            developed=developed,
        )
        store.add_document_terms(a.terms)
        store.index_add(dup_keys, article_id, story_id, story_keys=story_keys)

        if event is not None:
            store.add_event(event, at=now)
        if when.published is not None:
            self._clock = max(self._clock or when.published, when.published)
        self.reviewer.remember(article_id, a.terms, a.vocabulary)
        logger.info("%s %s -> %s %s (%s)", origin, article_id, status, story_id, match)
        result = IngestResult(
            origin, status, story_id, article_id, event, storyline_id=storyline_id  # type: ignore[arg-type]
        )
        others = [lid for lid in nearby if lid != storyline_id]
        due = others and consolidation_due((line.article_count if line else 0) + 1)
        return result, count + 1, others if due else None

    def _match(
        self,
        a: Analysis,
        store: Store,
        vec: dict[str, float],
        df: dict[str, int],
        n_docs: int,
        dup_keys: list[int],
        story_keys: list[int],
        when: EventTime,
    ) -> tuple[str, float | None, StoryRow | None, StorylineRow | None, list[str]]:
        """How the article joins a story ("new": it does not), the story's row, the storyline
        a new story would join (None: a new storyline) and the live storylines nearby."""
        s = self.settings
        window = s.story_window_s
        # 1. a syndicated or lightly edited copy of a stored article
        hits = store.index_query(dup_keys)
        if hits:
            sigs = store.dup_signatures([aid for aid, _ in hits])
            stories = store.stories({sid for _, sid in hits})
            scored = sorted(
                (-estimate_jaccard(a.dup_signature, np.frombuffer(sigs[aid], dtype=np.uint32)), sid)
                for aid, sid in hits
                if sid in stories and stories[sid].span.admits(when, window)
            )
            if scored and -scored[0][0] >= s.dup_min_jaccard:
                return "near_duplicate", round(-scored[0][0], 4), stories[scored[0][1]], None, []
        # 2. the storylines of the stories sharing salient-term bands, in their window
        story_hits = store.index_story_hits(story_keys)
        ranked = sorted((-n, sid) for sid, n in story_hits.items())  # most shared bands first
        rows = store.stories(sid for _, sid in ranked[: 3 * s.story_candidates])
        lines = {
            lid: line
            for lid, line in store.storylines({r.storyline_id for r in rows.values()}).items()
            if line.span.admits(when, s.storyline_window_s)
        }
        all_terms = {t for row in rows.values() for t in row.terms} | {
            t for line in lines.values() for t in line.terms
        }
        df_all = {**store.doc_freqs(all_terms - df.keys()), **df}
        chosen: StorylineMatch = best_storyline(
            vec,
            [(lid, line.terms) for lid, line in lines.items()],
            df_all,
            n_docs,
            s.storyline_min_similarity,
        )
        nearby = sorted(lines)
        line = lines.get(chosen.storyline_id) if chosen.storyline_id else None
        # 3. the same story told by another outlet or developed: candidates verified
        candidates = [
            rows[sid] for _, sid in ranked if sid in rows and rows[sid].span.admits(when, window)
        ][: s.story_candidates]
        if not candidates:
            return "new", None, None, line, nearby
        keys = evidence_keys(a.vocabulary)
        known = store.known_keys_many([r.id for r in candidates], keys)
        in_line = line.id if line else None
        m = best_story(
            vec,
            keys,
            [
                Candidate(r.id, r.terms, frozenset(known[r.id]), r.storyline_id == in_line)
                for r in candidates
            ],
            df_all,
            n_docs,
            s.story_min_probability,
            storyline_bonus=s.storyline_story_bonus,
        )
        if m.story_id is None:
            return "new", m.probability, None, line, nearby
        joined = next(r for r in candidates if r.id == m.story_id)
        return "same_story", m.probability, joined, line, nearby

    def _event(
        self,
        event_type: str,
        *,
        story: dict[str, Any],
        storyline: dict[str, Any],
        article_id: str,
        a: Analysis,
        novelty: Novelty | None,
        compared_with: list[str],
        now: float,
    ) -> dict[str, Any]:
        art = a.article
        return build_event(
            event_type,
            story=story,
            storyline=storyline,
            article={
                "id": article_id,
                "url": art.url,
                "title": art.title,
                "source": art.source,
                "published_at": art.published_at,
            },
            occurred_at=now,
            novelty=novelty,
            sentences=a.sentences,
            compared_with=compared_with,
            max_facts=self.settings.max_event_facts,
        )


def _headline(a: Analysis) -> str | None:
    """A title for a story whose first article has none: its first sentence, shortened."""
    return headline(a.sentences[0].text) if a.sentences else None

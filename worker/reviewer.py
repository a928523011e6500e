"""Story review, the use case: when a story reaches one of the review sizes, look for a second
event among its articles (worker/pipeline/review.py) and move it into a story of its own.

The move is made of operator corrections (`split_group`, worker/store/operator_base.py), so it
works the same on both stores and shows in the operator log as one `review_split` entry.
Events already sent keep the story id they were sent with, as after an operator's split.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from worker.config import Settings
from worker.errors import CorrectionRefused
from worker.pipeline.contribution import contribution
from worker.pipeline.matching import evidence_keys
from worker.pipeline.review import REVIEW_SIZES, Member, second_event
from worker.store.base import Store
from worker.store.operator_base import split_group

__all__ = ["Reviewer"]

logger = logging.getLogger(__name__)

MEMBER_CACHE = 5_000  # articles whose terms are kept between reviews (~3.5 KB each on ECB+)
CLAIM_TTL_S = 60.0  # a review takes well under a second; a dead reviewer's claim lapses


class Reviewer:
    """Reviews stories as they grow; keeps recent articles' terms so that a review re-reads
    only the texts it has not seen (those ingested by other processes)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._members: OrderedDict[str, Member] = OrderedDict()

    def due(self, story_size: int) -> bool:
        """Whether a story that has just reached `story_size` articles is reviewed."""
        return self.settings.review_max_cut > 0 and story_size in REVIEW_SIZES

    def remember(self, article_id: str, terms: dict[str, int], vocabulary: Iterable[str]) -> None:
        """An article this process has just analysed (saves re-reading its text)."""
        self._keep(Member(article_id, terms, evidence_keys(vocabulary)))

    def _keep(self, member: Member) -> None:
        self._members[member.article_id] = member
        self._members.move_to_end(member.article_id)
        while len(self._members) > MEMBER_CACHE:
            self._members.popitem(last=False)

    def _read(self, store: Store, story_id: str) -> tuple[list[Member], dict[str, int], int]:
        ids = store.story_article_ids(story_id)
        missing = [a for a in ids if a not in self._members]
        for article_id, text in store.article_texts(missing).items() if missing else ():
            terms, keys = contribution(text)
            self._keep(Member(article_id, terms, evidence_keys(keys)))
        members = [self._members[a] for a in ids if a in self._members]
        terms = {t for m in members for t in m.terms}
        return members, store.doc_freqs(terms), store.doc_count()

    def review(self, store: Store, story_id: str, *, now: float) -> dict[str, Any] | None:
        """Split a second event out of the story; what was moved, or None."""
        op = store.operator()
        if op.reviewed_by_person(story_id):
            return None
        if not op.claim_review(story_id, now=now, ttl_s=CLAIM_TTL_S):
            logger.info("review of %s skipped: another review holds it", story_id)
            return None
        try:
            return self._review(store, story_id, now)
        finally:
            op.release_review(story_id)

    def _review(self, store: Store, story_id: str, now: float) -> dict[str, Any] | None:
        s = self.settings
        with store.transaction():
            members, df, n_docs = self._read(store, story_id)
        verdict = second_event(
            members, df, n_docs, max_cut=s.review_max_cut, min_group=s.review_min_group
        )
        logger.debug("review %s: %d articles, cut %.3f", story_id, len(members), verdict.cut)
        if not verdict.moved:
            return None
        try:
            result = split_group(
                store, story_id, verdict.moved, now=now, action="review_split",
                extra={"cut": verdict.cut},
            )  # fmt: skip
        except CorrectionRefused as exc:  # a person moved one of the articles meanwhile
            logger.warning("review of %s stopped: %s", story_id, exc)
            return None
        logger.info(
            "review split %d of %d articles of %s into %s (cut %.3f)",
            len(verdict.moved), len(members), story_id, result["story"], verdict.cut,
        )  # fmt: skip
        return result

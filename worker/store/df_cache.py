"""Document frequencies of the SQLite store, kept in this process while no other one writes.

Matching reads the document frequency of every term of up to ten candidate stories' centroids
(hundreds to thousands of terms per article): from SQLite that is one index probe per term,
from memory one dict lookup. The cache stays exact: `PRAGMA data_version` changes when any
other connection commits to the file (a second `wirewatch ingest`, the API), and then the cache
is dropped; this connection's own additions are applied at commit and dropped on rollback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

__all__ = ["DocFreqCache"]

_CHUNK = 500  # stay under SQLite's bound-parameter limit


class DocFreqCache:
    """`doc_count` and `doc_freqs` of one connection, with `added`/`committed`/`rolled_back`
    called by its store's transactions."""

    def __init__(self, db: sqlite3.Connection, *, max_terms: int = 500_000):
        self.db = db
        self.max_terms = max_terms  # bounds memory on an endless vocabulary: then start over
        self._df: dict[str, int] = {}  # term -> df; 0: known not to be stored
        self._count: int | None = None
        self._version: int | None = None
        self._pending: list[str] = []
        self._pending_docs = 0

    def _validate(self) -> None:
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:  # another connection committed: what we hold may be old
            self._df.clear()
            self._count, self._version = None, version

    def doc_count(self) -> int:
        self._validate()
        if self._count is None:
            row = self.db.execute("SELECT value FROM meta WHERE key='doc_count'").fetchone()
            self._count = int(row[0]) if row else 0
        return self._count

    def doc_freqs(self, terms: Iterable[str]) -> dict[str, int]:
        self._validate()
        terms = list(terms)
        df = self._df
        missing = list(dict.fromkeys(t for t in terms if t not in df))
        if missing:
            if len(df) + len(missing) > self.max_terms:
                df.clear()
            cur = self.db.cursor()
            cur.row_factory = None  # tuples: the dict is built in C
            for i in range(0, len(missing), _CHUNK):
                chunk = missing[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                df.update(dict.fromkeys(chunk, 0))
                df.update(
                    cur.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", chunk)
                )
        return {t: n for t in terms if (n := df.get(t, 0))}

    def added(self, terms: Iterable[str]) -> None:
        """One more document holding `terms` (distinct), written in the open transaction."""
        self._pending.extend(terms)
        self._pending_docs += 1

    def committed(self) -> None:
        df = self._df
        for t in self._pending:
            if t in df:
                df[t] += 1
        if self._count is not None:
            self._count += self._pending_docs
        self.rolled_back()

    def rolled_back(self) -> None:
        self._pending, self._pending_docs = [], 0

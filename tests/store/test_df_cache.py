"""The SQLite store's document-frequency cache stays exact: its own commits, its rollbacks and
other connections' commits to the same file all show in the next read."""

from __future__ import annotations

import pytest

from worker.store.sqlite import SqliteStore


def _add(store: SqliteStore, *terms: str) -> None:
    with store.transaction():
        store.add_document_terms(terms)


def test_df_cache_follows_own_commits_and_rollbacks(tmp_path):
    store = SqliteStore(str(tmp_path / "df.db"), index_signature="sig")
    _add(store, "war", "talks")
    # cached, including a term known to be absent
    assert store.doc_freqs(["war", "talks", "peace"]) == {"war": 1, "talks": 1}
    assert store.doc_count() == 1
    _add(store, "talks", "peace")
    assert store.doc_freqs(["war", "talks", "peace"]) == {"war": 1, "talks": 2, "peace": 1}
    assert store.doc_count() == 2
    # a rolled-back document counts nowhere
    with pytest.raises(RuntimeError), store.transaction():
        store.add_document_terms(["war", "ceasefire"])
        raise RuntimeError("abandoned")
    assert store.doc_freqs(["war", "ceasefire"]) == {"war": 1}
    assert store.doc_count() == 2
    store.close()


def test_df_cache_sees_another_connections_commits(tmp_path):
    path = str(tmp_path / "df.db")
    reader, writer = (SqliteStore(path, index_signature="sig") for _ in range(2))
    _add(reader, "war")
    assert reader.doc_freqs(["war", "talks"]) == {"war": 1} and reader.doc_count() == 1
    # When another process's connection commits documents to the same file
    _add(writer, "war", "talks")
    _add(writer, "talks")
    # Then the first connection's next read has them, not its cached values
    assert reader.doc_freqs(["war", "talks"]) == {"war": 2, "talks": 2}
    assert reader.doc_count() == 3
    reader.close()
    writer.close()

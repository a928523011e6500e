"""Fixtures of the store tests: a factory of stores of either backend (the Store contract)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from worker.store.base import Store
from worker.store.sqlite import SqliteStore

SIG = "test-signature"  # as tests/store/test_contract.py names it


@pytest.fixture(params=["sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    """Factory of stores of one backend; calls share the same underlying data."""
    opened: list[SqliteStore] = []
    if request.param == "redis":
        make_redis = request.getfixturevalue("make_redis_store")

        def make(signature: str = SIG) -> Store:
            return make_redis(index_signature=signature)  # type: ignore[no-any-return]
    else:

        def make(signature: str = SIG) -> Store:
            s = SqliteStore(str(tmp_path / "contract.db"), index_signature=signature)
            opened.append(s)
            return s

    yield make
    for s in opened:
        s.close()

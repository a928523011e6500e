from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest

from tests.redis_server import make_redis_store, redis_client, redis_url  # noqa: F401
from worker import Document, Pipeline, Settings
from worker.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
DATASETS = ROOT.parent / "shared" / "datasets"
NOW = 1_747_300_000.0  # 2025-05-15, the day of the seed story


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's WIREWATCH_* settings."""
    for key in list(os.environ):
        if key.startswith("WIREWATCH_"):
            monkeypatch.delenv(key)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db_path=str(tmp_path / "ww.db"))


@pytest.fixture
def pipeline(settings: Settings) -> Pipeline:
    return Pipeline(settings)


@pytest.fixture
def store(pipeline: Pipeline) -> Iterator[SqliteStore]:
    s = pipeline.open_store()
    yield s
    s.close()


@pytest.fixture
def seed_docs() -> list[Document]:
    return [Document(p.name, p.read_text(encoding="utf-8"), "text") for p in SEEDS]


@pytest.fixture(scope="session")
def validate_event() -> Callable[[dict], None]:
    schema = json.loads((ROOT / "worker" / "schemas" / "event.v2.json").read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )

    def check(event: dict) -> None:
        validator.validate(event)
        assert len(json.dumps(event).encode()) < 20_000

    return check


@pytest.fixture
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"../shared/datasets absent: {DATASETS} not found")
    return DATASETS

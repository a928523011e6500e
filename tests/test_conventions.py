"""House rules that matter, checked by pytest rather than by review."""

from __future__ import annotations

import ast
from pathlib import Path

import worker

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_public_api_is_pinned():
    assert worker.__all__ == sorted(worker.__all__)
    assert worker.__all__ == sorted(
        n for n in vars(worker) if not n.startswith("_") and n[0].isupper()
    )


def test_worker_never_imports_celery():
    for path in (ROOT / "worker").rglob("*.py"):
        assert "celery" not in _imports(path), path


def test_pipeline_is_pure():
    # no network, store, environment or clock in worker/pipeline
    for path in (ROOT / "worker" / "pipeline").rglob("*.py"):
        assert not _imports(path) & {"redis", "httpx", "sqlite3", "os", "time", "socket"}, path
        assert "environ" not in path.read_text(), path


def test_every_module_starts_with_future_annotations():
    for path in [*(ROOT / "worker").rglob("*.py"), *(ROOT / "tasks").rglob("*.py")]:
        text = path.read_text()
        if text.strip():
            assert "from __future__ import annotations" in text, path

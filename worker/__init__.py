"""wirewatch: recognise one story across outlets and say exactly what each article adds."""

from __future__ import annotations

from worker.config import Settings
from worker.errors import BadInput, IngestError, NotAnArticle, PermanentError, TransientError
from worker.ingest import Pipeline
from worker.models import Article, Document, IngestResult

__all__ = [
    "Article",
    "BadInput",
    "Document",
    "IngestError",
    "IngestResult",
    "NotAnArticle",
    "PermanentError",
    "Pipeline",
    "Settings",
    "TransientError",
]

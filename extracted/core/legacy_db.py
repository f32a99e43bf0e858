"""The legacy database as a service process sees it: one engine per URL, made on first use.

Services read a few legacy tables they do not own (through legacy_adapter) and draw new ids
from LEGACY_SEQ. The engine is created lazily (never at import, so `manage.py check` and
migrations need no legacy database) and kept per URL, so tests that point
LEGACY_DATABASE_URL elsewhere get their own engine instead of a stale one.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from sqlalchemy import Engine

from legacy_adapter.engines import create_legacy_engine

_engines_made: list[Engine] = []


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = create_legacy_engine(url)
    _engines_made.append(engine)
    return engine


def legacy_engine() -> Engine:
    return _engine_for(settings.LEGACY_DATABASE_URL)


def reset_legacy_engines() -> None:
    """Dispose of every cached engine (tests that point LEGACY_DATABASE_URL elsewhere)."""
    for engine in _engines_made:
        engine.dispose()
    _engines_made.clear()
    _engine_for.cache_clear()

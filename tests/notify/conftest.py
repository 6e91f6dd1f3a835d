"""Fixtures for the SMS layer: a fixed "today", the shipped gazetteer and the corpus."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from carpool.notify.places import Gazetteer, default_gazetteer

CORPUS = Path(__file__).resolve().parents[1] / "data" / "sms_corpus.jsonl"
# Monday 23 November 2026: the corpus's default "today".
CORPUS_TODAY = date(2026, 11, 23)


@pytest.fixture
def today() -> date:
    return CORPUS_TODAY


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


@pytest.fixture(scope="session")
def corpus() -> list[dict[str, Any]]:
    """Every corpus entry with its defaults filled in (no "today" = CORPUS_TODAY)."""
    entries = []
    with CORPUS.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                entry = json.loads(line)
                entry.setdefault("today", CORPUS_TODAY.isoformat())
                entry.setdefault("split", "main")
                entries.append(entry)
    return entries

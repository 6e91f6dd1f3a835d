"""The web and the SMS channel read a place the same way, saints' abbreviations included."""

from __future__ import annotations

from datetime import date

import pytest

from carpool.notify.parse import parse_message
from carpool.services.places import resolve_commune

SAINT_CERE = "46251"


@pytest.mark.parametrize("typed", ["St Cere", "Saint-Céré", "st-céré", "SAINT CERE"])
def test_the_web_and_the_sms_channel_find_the_same_commune(session, typed):
    on_the_web = resolve_commune(session, typed).insee
    by_sms = parse_message(f"rdv à {typed} mardi 10h", date(2026, 11, 23)).destination
    assert on_the_web == by_sms == SAINT_CERE

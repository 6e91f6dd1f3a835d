"""Every SMS the service sends, rendered with realistic values, fits in one segment."""

from __future__ import annotations

from datetime import datetime

import pytest

from carpool.clock import PARIS
from carpool.notify.compose import TEMPLATES, render
from carpool.notify.gsm import is_gsm7, segments

WHEN = datetime(2026, 12, 1, 8, 40, tzinfo=PARIS)
LONG_NAME = "Saint-Jean-Lagineste"  # a long Lot commune name, for the worst case
CONTEXT = {
    "phone": "05 65 12 34 56",
    "day": WHEN,
    "pickup_at": WHEN,
    "first_name": "Marie-Christine",
    "passenger": "Jean-François",
    "place": LONG_NAME,
    "origin": LONG_NAME,
    "destination": "Saint-Céré",
    "options": [
        {"first_name": name, "pickup_at": WHEN} for name in ("Marie-Christine", "Jean-Pierre", "Sophie")
    ],
    "reason": "panne de voiture",
    "link": "https://covoit.example.org/conducteurs/mot-de-passe/abcdefghijklmnopqrstuvwxyz012345",
    "minutes": 30,
    "code": "482913",
    "offer": {"day": WHEN},
    "driver": "Sophie",
    "series": "tous les lundis, mercredis et vendredis à 10h, retour 12h30, jusqu'au 28/02",
    "appointment": WHEN.replace(hour=10, minute=30),
    "back_at": WHEN.replace(hour=11, minute=45),
    "back_first_name": "Jean-Pierre",
    "lost_first_name": "Jean-Pierre",
    "return_at": WHEN.replace(hour=11, minute=45),
    "leg": "back",
    "other_at": WHEN,
    "other_first_name": "Marie-Christine",
}
NAMES = sorted(path.stem for path in TEMPLATES.glob("*.txt"))


@pytest.mark.parametrize("name", NAMES)
def test_each_sms_fits_one_gsm7_segment(name):
    try:
        text = render(name, **CONTEXT)
    except Exception as error:  # a template needing other values is tested where it is sent
        pytest.fail(f"{name}: {error}")

    assert is_gsm7(text), text
    assert segments(text) == 1, f"{name} ({len(text)} characters): {text}"


def test_options_keep_the_accents_gsm7_has():
    text = render("options", **CONTEXT)

    assert "Saint-Céré" in text
    assert text.startswith("Mardi 1er déc., Saint-Céré, rdv 10h30 :\n1) Marie-Christine à 8h40")


def test_a_late_near_miss_proposed_by_a_coordinator_says_when_it_arrives_in_one_segment():
    late = {"first_name": "Marie-Christine", "pickup_at": WHEN, "arrive_at": WHEN.replace(hour=10, minute=10)}
    text = render("options", **{**CONTEXT, "options": [late]})

    assert "Marie-Christine vous prend à 8h40, arrivée 10h10. OUI ou NON ?" in text
    assert segments(text) == 1, text

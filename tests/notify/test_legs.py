"""Which leg a resident's words are about, and when they need no way back."""

from __future__ import annotations

import pytest

from carpool.notify.legs import leg_named, needs_no_way_back


@pytest.mark.parametrize(
    ("text", "leg"),
    [
        ("annuler le retour", "back"),
        ("Annuler l'aller svp", "out"),
        ("et pour le retour ? 17h", "back"),
        ("je voudrais revenir vers 16h", "back"),
        ("annuler", None),
        ("annuler l'aller et le retour", None),
    ],
)
def test_the_leg_a_text_is_about(text, leg):
    assert leg_named(text) == leg


@pytest.mark.parametrize(
    "text",
    [
        "Ma fille me ramène",
        "mon voisin me ramenera apres",
        "pas besoin de retour merci",
        "je rentre avec mon fils",
        "on viendra me chercher",
        "aller simple",
    ],
)
def test_someone_else_bringing_the_resident_home_means_no_way_back(text):
    assert needs_no_way_back(text)


@pytest.mark.parametrize(
    "text", ["retour 17h", "oui", "rdv hopital de cahors mardi 10h retour 11h30", "pas de problème"]
)
def test_asking_for_a_return_is_not_refusing_one(text):
    assert not needs_no_way_back(text)

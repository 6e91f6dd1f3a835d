"""A round trip in a real browser: a phone-in request with a way back, the outward leg booked on
an offer, the way back matched by hand with a volunteer, who accepts it from « Mes trajets ».

Every page is scanned with axe-core (WCAG 2.1 A and AA) and saved in test-results/.
"""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa
from support.factories import (
    CAHORS,
    CAJARC,
    PASSWORD,
    add_driver,
    add_driver_account,
    add_offer,
    add_resident,
)
from test_browser_coordinators import accessible, log_in, rows_of

from carpool.models import Leg, Match, MatchStatus

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("coordinator")]


def test_a_phone_in_round_trip_gets_both_legs_and_the_volunteer_accepts_the_way_back(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with rows_of(db) as session:
        add_offer(
            session, add_driver(session, association, first_name="Paul", last_name="Vidal"), depart=time(8, 0)
        )
        add_resident(session, association, first_name="Odette", home=CAJARC)
    with rows_of(db) as session:
        add_driver_account(
            session, association, clock, email="marc@example.org", first_name="Marc", home=CAHORS
        )
    log_in(page, live_server, clock)

    page.get_by_role("link", name="Demande par téléphone").click()
    page.get_by_label("Nom ou numéro de téléphone").fill("Odette")
    page.get_by_role("button", name="Chercher").click()
    page.get_by_role("link", name="Odette Delpech").click()
    page.get_by_label("Destination").fill("Cahors")
    page.get_by_label("Jour").fill("2026-12-01")
    page.get_by_label("Heure du rendez-vous").fill("10:00")
    page.get_by_label("Retour vers").fill("11:30")
    accessible(page, axe_violations, screenshot, "coordination-appel-aller-retour")
    page.get_by_role("button", name="Enregistrer et voir les solutions").click()

    assert page.get_by_role("heading", name="Solutions trouvées pour l'aller").is_visible()
    accessible(page, axe_violations, screenshot, "coordination-demande-deux-trajets")
    page.get_by_role("button", name="Réserver (accord au téléphone)").first.click()
    assert page.get_by_text("C'est réservé").is_visible()
    assert page.get_by_text("aller trouvé, retour manquant").first.is_visible()
    assert "à trouver" in page.locator("#leg-back").inner_text()

    page.get_by_label("Conducteur", exact=True).select_option(label="Delmas Marc")
    page.get_by_label("Heure de prise en charge").fill("11:40")
    page.get_by_label("Réserver tout de suite").check()
    page.get_by_role("button", name="Enregistrer le jumelage").click()
    assert page.get_by_text("C'est demandé au bénévole").is_visible()
    assert "Marc Delmas" in page.locator("#leg-back").inner_text()

    page.context.clear_cookies()
    page.goto(live_server + "/conducteurs/connexion")
    page.get_by_label("Adresse e-mail").fill("marc@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    card = page.get_by_role("article").filter(has_text="Odette")
    assert "(retour)" in card.inner_text()
    accessible(page, axe_violations, screenshot, "conducteur-retour-a-accepter")
    card.get_by_role("button", name="Accepter").click()
    assert page.get_by_text("Merci !").is_visible()

    with db.session() as session:
        legs = {m.leg: m.status for m in session.scalars(sa.select(Match))}
    assert legs == {Leg.OUT: MatchStatus.CONFIRMED, Leg.BACK: MatchStatus.CONFIRMED}

"""A volunteer in a real browser: sign up, get vetted, offer a ride, accept a passenger; availability.

Every main page is scanned with axe-core (WCAG 2.1 A and AA) and saved as a screenshot
in test-results/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.factories import PASSWORD, add_driver_account, add_proposal, add_resident, sent_code

from carpool.models import AvailabilitySlot, Driver, Offer, TimeOff, UserAccount, VettingStatus

pytestmark = pytest.mark.browser


def accessible(page, axe_violations, screenshot, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    screenshot(page, name)


def test_sign_up_get_vetted_offer_a_ride_and_accept_a_passenger(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    page.goto(live_server + "/")
    page.get_by_role("link", name="Devenir conducteur bénévole").click()
    accessible(page, axe_violations, screenshot, "conducteur-inscription-numero")
    page.get_by_label("Téléphone portable").fill("06 39 98 10 01")
    page.get_by_role("button", name="Recevoir le code par SMS").click()
    accessible(page, axe_violations, screenshot, "conducteur-inscription-code")
    with db.session() as session:  # the code as the phone received it
        code = sent_code(session, "+33639981001")
    page.get_by_label("Code reçu par SMS").fill(code)
    page.get_by_role("button", name="Vérifier le code").click()
    accessible(page, axe_violations, screenshot, "conducteur-inscription")

    page.get_by_label("Prénom").fill("Sophie")
    page.get_by_label("Nom", exact=True).fill("Delmas")
    page.get_by_label("Adresse e-mail").fill("sophie@example.org")
    page.get_by_label("Commune de domicile").fill("46100 Figeac")
    page.get_by_label("Places passagers dans votre véhicule").fill("3")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Mot de passe, encore une fois").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()

    assert page.get_by_text("attend la validation d'un coordinateur").is_visible()
    accessible(page, axe_violations, screenshot, "conducteur-mes-trajets-en-attente")

    with db.session() as session:  # the coordinator vets the new driver
        session.execute(sa.update(Driver).values(vetting=VettingStatus.VETTED))

    page.get_by_role("link", name="Je propose un trajet").first.click()
    accessible(page, axe_violations, screenshot, "conducteur-proposer-un-trajet")
    page.get_by_label("Départ", exact=True).fill("Figeac")
    page.get_by_label("Arrivée").fill("Centre hospitalier de Cahors")
    page.get_by_label("Date").fill("2026-12-01")
    page.get_by_label("Heure de départ", exact=True).fill("08:00")
    page.get_by_label("Places libres").fill("2")
    page.get_by_role("button", name="Proposer ce trajet").click()
    assert page.get_by_text("Merci ! Votre trajet est proposé.").is_visible()

    with db.session() as session:  # a resident asks by SMS and picks this ride
        offer = session.scalars(sa.select(Offer)).one()
        account = session.scalars(sa.select(UserAccount)).one()
        resident = add_resident(session, association, first_name="Odette", walker=True)
        add_proposal(
            session,
            association,
            account,
            clock,
            offer=offer,
            resident=resident,
            pickup_at=offer.depart_earliest + timedelta(minutes=25),
        )

    page.reload()
    assert page.get_by_text("Odette – mardi 1 décembre 2026").is_visible()
    assert page.get_by_text("déambulateur").is_visible()
    accessible(page, axe_violations, screenshot, "conducteur-passager-propose")

    page.get_by_role("button", name="Accepter Odette").click()

    assert page.get_by_text("Le passager est prévenu par SMS").is_visible()
    assert page.get_by_role("link", name="06 39 97").first.is_visible()
    page.get_by_role("link", name="Feuille de route du mardi 1 décembre 2026").click()
    assert page.get_by_role("cell", name="Odette").is_visible()
    accessible(page, axe_violations, screenshot, "conducteur-feuille-de-route")


def test_a_wrong_offer_shows_the_error_next_to_the_field(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with db.session() as session:
        add_driver_account(session, association, clock)
    log_in_through_the_page(page, live_server)

    page.goto(live_server + "/conducteurs/trajets/nouveau")
    page.get_by_label("Départ", exact=True).fill("Atlantis")
    page.get_by_label("Arrivée").fill("Cahors")
    page.get_by_label("Date").fill("2026-11-20")
    page.get_by_label("Heure de départ", exact=True).fill("08:00")
    page.get_by_role("button", name="Proposer ce trajet").click()

    assert page.locator("#origin-error").inner_text().endswith("vérifiez l'orthographe.")
    assert "déjà passées" in page.locator("#day-error").inner_text()
    assert page.get_by_label("Départ", exact=True).get_attribute("aria-invalid") == "true"
    accessible(page, axe_violations, screenshot, "conducteur-trajet-erreurs")


def log_in_through_the_page(page, live_server, email: str = "sophie@example.org") -> None:
    page.goto(live_server + "/conducteurs/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("heading", name="Mes trajets", exact=True).is_visible()


def test_declaring_weekly_slots_and_time_off(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with db.session() as session:
        add_driver_account(session, association, clock)
    log_in_through_the_page(page, live_server)

    page.get_by_role("link", name="Je suis disponible").click()
    accessible(page, axe_violations, screenshot, "conducteur-disponibilites")
    first = page.get_by_role("group", name="Créneau 1")
    first.get_by_label("Jour").select_option(label="mardi")
    first.get_by_label("De").fill("08:30")
    first.get_by_label("À").fill("12:00")
    second = page.get_by_role("group", name="Créneau 2")
    second.get_by_label("Jour").select_option(label="jeudi")
    second.get_by_label("De").fill("14:00")
    second.get_by_label("À").fill("18:00")
    page.get_by_label("Distance maximale autour de chez vous (km)").fill("30")
    page.get_by_role("button", name="Enregistrer mes disponibilités").click()
    assert page.get_by_text("Vos disponibilités sont enregistrées.").is_visible()

    page.get_by_label("Premier jour d'absence").fill("2026-12-21")
    page.get_by_label("Dernier jour d'absence").fill("2027-01-03")
    page.get_by_role("button", name="Ajouter cette absence").click()
    assert page.get_by_text("Du lundi 21 décembre 2026 au dimanche 3 janvier 2027").is_visible()
    accessible(page, axe_violations, screenshot, "conducteur-disponibilites-enregistrees")

    with db.session() as session:
        slots = session.execute(
            sa.select(AvailabilitySlot.weekday, AvailabilitySlot.starts_at).order_by(AvailabilitySlot.weekday)
        ).all()
        assert [(w, t.strftime("%H:%M")) for w, t in slots] == [(1, "08:30"), (3, "14:00")]
        assert session.scalars(sa.select(Driver.radius_km)).one() == 30
        assert session.scalar(sa.select(sa.func.count()).select_from(TimeOff)) == 1


def test_mileage_and_account_pages_are_accessible(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with db.session() as session:
        add_driver_account(session, association, clock)
    log_in_through_the_page(page, live_server)

    page.get_by_role("link", name="Indemnités").click()
    accessible(page, axe_violations, screenshot, "conducteur-indemnites")
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_label("Nom du jeton").fill("Téléphone")
    page.get_by_role("button", name="Créer un jeton").click()
    assert page.locator("code.token").inner_text().startswith("cps_")
    accessible(page, axe_violations, screenshot, "conducteur-compte")


@pytest.mark.parametrize(("width", "zoom"), [(360, 1), (1280, 2)])
@pytest.mark.parametrize(
    "path", ["/conducteurs/trajets/nouveau", "/conducteurs/disponibilites", "/conducteurs/"]
)
def test_driver_pages_fit_a_phone_and_200_percent_zoom(
    browser, live_server, db, association, clock, screenshot, width, zoom, path
):
    with db.session() as session:
        add_driver_account(session, association, clock)
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="fr-FR")
    page = context.new_page()
    log_in_through_the_page(page, live_server)
    page.goto(live_server + path)
    if zoom != 1:
        page.evaluate(f"document.body.style.zoom = '{zoom * 100}%'")

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")

    assert overflow <= 0
    name = path.strip("/").replace("/", "-")
    screenshot(page, f"{name}-{width}px-zoom{zoom}")
    context.close()


def test_the_offer_form_works_with_the_keyboard_only(page, live_server, db, association, clock):
    with db.session() as session:
        add_driver_account(session, association, clock)
    log_in_through_the_page(page, live_server)
    page.goto(live_server + "/conducteurs/trajets/nouveau")

    page.get_by_label("Départ", exact=True).focus()
    page.keyboard.type("Figeac")
    page.keyboard.press("Tab")
    page.keyboard.type("Cahors")

    assert page.evaluate("document.activeElement.id") == "destination"

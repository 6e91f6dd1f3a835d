"""The page "Rapport annuel — transport d'utilité sociale", its files, and the association's figures."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from support.drivers_kit import count, log_in, text
from support.factories import add_coordinator, add_driver, add_resident
from test_tus_report_cli import add_completed_trip

from carpool.clock import PARIS
from carpool.models import Association, AuditEvent, Driver, Role

FIGURES = {
    "founded_on": "2019-05-01",
    "employees_count": "2",
    "volunteers_count": "35",
    "members_count": "120",
}


@pytest.fixture
def admin_client(client, no_csrf, session, association):
    log_in(client, add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN))
    return client


@pytest.fixture
def year_2025(session, association):
    """One trip to the doctor in June 2025, by a driver offering 4 seats."""
    association.founded_on = date(2020, 1, 1)
    add_completed_trip(
        session, association, add_resident(session, association), datetime(2025, 6, 3, 9, 0, tzinfo=PARIS)
    )
    session.commit()


def test_the_page_shows_the_years_figures_and_who_lacks_a_basis(coord_client, year_2025):
    page = text(coord_client.get("/coordination/rapport-annuel?annee=2025"))

    assert "Rapport annuel — transport d'utilité sociale" in page
    assert 'Trajets réalisés</th><td class="num">1</td>' in page
    assert 'Capacité moyenne des véhicules (places)</th><td class="num">4</td>' in page
    assert "Delpech Jeanne</a> : aucun justificatif" in page
    assert "Trajets : santé" in page  # the coordinator sees health data


def test_the_page_is_reached_from_the_menu(coord_client, year_2025):
    assert 'href="/coordination/rapport-annuel"' in text(coord_client.get("/coordination/"))


def test_a_year_before_the_association_is_refused_in_french(coord_client, year_2025):
    response = coord_client.get("/coordination/rapport-annuel?annee=2010")

    assert response.status_code == 422
    assert "L'association n'existait pas encore en 2010 (première année : 2020)." in text(response)


def test_purposes_are_hidden_from_coordinators_not_allowed(client, no_csrf, session, association, year_2025):
    log_in(client, add_coordinator(session, association, email="paul@example.org", sees_health_data=False))

    assert "Trajets : santé" not in text(client.get("/coordination/rapport-annuel?annee=2025"))
    assert "purpose_medical" not in text(client.get("/coordination/rapport-annuel.csv?annee=2025"))


def test_the_csv_and_the_workbook_are_downloaded_and_audited(coord_client, session, year_2025):
    csv = coord_client.get("/coordination/rapport-annuel.csv?annee=2025")
    book = coord_client.get("/coordination/rapport-annuel.xlsx?annee=2025")

    assert 'filename="rapport-tus-2025.csv"' in csv.headers["Content-Disposition"]
    assert "trips;Trajets réalisés;1\r\n" in csv.get_data(as_text=True)
    sheets = load_workbook(io.BytesIO(book.get_data()))
    assert sheets.sheetnames == ["Rapport", "Par commune", "Sans justificatif", "Méthode"]
    assert ["trips", "Trajets réalisés", 1] in [
        list(r) for r in sheets["Rapport"].iter_rows(values_only=True)
    ]
    formats = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "tus_report.exported")).all()
    assert sorted(e.details["format"] for e in formats) == ["csv", "xlsx"]


def test_an_admin_enters_the_associations_figures_once(admin_client, session, association):
    response = admin_client.post(
        "/coordination/reglages/rapport-annuel", data={**FIGURES, "tus_rules": "Sur rendez-vous"}
    )

    assert response.status_code == 302
    session.expire_all()
    saved = session.get(Association, association.id)
    assert (saved.founded_on, saved.employees_count, saved.volunteers_count, saved.members_count) == (
        date(2019, 5, 1), 2, 35, 120,
    )  # fmt: skip
    assert saved.tus_rules == "Sur rendez-vous"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"members_count": "-3"}, "Un nombre positif."),
        ({"founded_on": "2030-01-01"}, "ne peut pas être dans le futur"),
    ],
)
def test_bad_figures_are_refused_and_nothing_saved(admin_client, session, association, changes, message):
    response = admin_client.post("/coordination/reglages/rapport-annuel", data={**FIGURES, **changes})

    assert response.status_code == 422 and message in text(response)
    session.expire_all()
    assert session.get(Association, association.id).members_count is None
    assert count(session, AuditEvent) == 0


def test_coordinators_cannot_change_the_associations_figures(coord_client):
    assert coord_client.post("/coordination/reglages/rapport-annuel", data=FIGURES).status_code == 403


def test_a_driver_employed_by_the_association_is_marked_when_vetted(coord_client, session, association):
    driver = add_driver(session, association)
    session.commit()
    vetting = {
        "decision": "vetted",
        "documents_seen": "y",
        "licence_valid_until": "2035-01-01",
        "insurance_valid_until": "2027-06-30",
    }

    url = f"/coordination/conducteurs/{driver.id}"

    coord_client.post(f"{url}/verification", data={**vetting, "employee": "y"})

    session.expire_all()
    assert session.get(Driver, driver.id).is_volunteer is False
    session.rollback()
    assert re.search(r'<input [^>]*checked [^>]*id="employee"', text(coord_client.get(url)))

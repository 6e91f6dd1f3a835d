"""Unmatched requests: the matcher's reason, near-misses proposed by SMS or booked, manual matches."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text
from support.factories import CAJARC, GOURDON, PARIS, TUESDAY, add_driver, add_offer, add_request

from carpool.models import (
    AuditEvent,
    Match,
    MatchStatus,
    OutboundMessage,
    RequestStatus,
    Resident,
    VettingStatus,
)
from carpool.services import offers
from carpool.services.sms_inbound import handle_inbound

LATE_APPOINTMENT = time(8, 30)  # the 8:00 Figeac → Cahors driver reaches Cahors around 9:15


@pytest.fixture
def late_offer(session, association):
    driver = add_driver(session, association)
    offer = add_offer(session, driver, depart=time(8, 0))
    session.commit()
    return offer


@pytest.fixture
def early_request(session, association):
    request = add_request(session, association, appointment=LATE_APPOINTMENT)
    session.commit()
    return request


def outbox(session) -> list[OutboundMessage]:
    return list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))


def propose_form(page: str) -> dict[str, str]:
    """The hidden fields of the first option form on a request page."""
    import re

    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    return {k: fields[k] for k in ("driver_id", "offer_id", "pickup_at", "dropoff_at", "detour_min")}


def test_an_unmatched_request_is_listed_with_the_matchers_reason(coord_client, early_request):
    page = text(coord_client.get("/coordination/sans-solution"))
    assert "Jeanne Delpech" in page
    assert "aucun trajet ni bénévole à proximité" in page


def test_a_driver_arriving_too_late_shows_as_a_near_miss(coord_client, early_request, late_offer):
    page = text(coord_client.get("/coordination/sans-solution"))
    assert "aucun trajet dans le créneau" in page
    assert "hors du créneau de" in page
    detail = text(coord_client.get(f"/coordination/demandes/{early_request.id}"))
    assert "Presque possibles" in detail and "Sophie Delmas — hors du créneau de" in detail


def test_proposing_a_near_miss_sends_the_resident_an_sms_and_their_oui_books_it(
    coord_client, session, early_request, late_offer, clock
):
    page = coord_client.get(f"/coordination/demandes/{early_request.id}").get_data(as_text=True)
    response = coord_client.post(
        f"/coordination/demandes/{early_request.id}/proposer", data={**propose_form(page), "mode": "sms"}
    )
    assert response.status_code == 302
    (sms,) = outbox(session)
    assert sms.to_phone == "+33639981234"
    assert "Sophie vous prend à" in sms.body and "arrivée" in sms.body and "OUI ou NON ?" in sms.body
    assert count(session, Match) == 0  # nothing held until they answer

    handle_inbound(
        session, message_sid="SM" + "9" * 32, from_phone="+33639981234", to_phone="+33639980000", body="oui",
        clock=clock,
    )  # fmt: skip
    session.commit()
    match = session.scalars(sa.select(Match)).one()
    assert (match.status, match.offer_id) == (MatchStatus.CONFIRMED, late_offer.id)
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "request.option_sent")) is not None


def test_an_option_proposed_by_sms_names_the_resident_it_is_for(
    coord_client, session, early_request, late_offer
):
    page = coord_client.get(f"/coordination/demandes/{early_request.id}").get_data(as_text=True)

    coord_client.post(
        f"/coordination/demandes/{early_request.id}/proposer", data={**propose_form(page), "mode": "sms"}
    )

    (sms,) = outbox(session)
    assert sms.resident_id == early_request.resident_id


def test_booking_an_option_on_the_phone_confirms_it_and_queues_both_confirmations(
    coord_client, session, association, late_offer
):
    request = add_request(session, association, appointment=time(10, 0))
    session.commit()
    page = coord_client.get(f"/coordination/demandes/{request.id}").get_data(as_text=True)
    assert "Solutions trouvées" in page
    coord_client.post(
        f"/coordination/demandes/{request.id}/proposer", data={**propose_form(page), "mode": "book"}
    )
    match = session.scalars(sa.select(Match)).one()
    assert match.status is MatchStatus.CONFIRMED
    keys = {m.idempotency_key for m in outbox(session)}
    assert keys == {f"match:{match.id}:confirmed:passenger", f"match:{match.id}:confirmed:driver"}
    session.refresh(late_offer)
    assert late_offer.seats_left == 2


def test_a_manual_match_with_a_called_volunteer_waits_for_them_then_confirms(
    coord_client, session, association, early_request, clock
):
    volunteer = add_driver(session, association, insee=GOURDON)
    session.commit()
    response = coord_client.post(
        f"/coordination/demandes/{early_request.id}/jumelage",
        data={
            "manual-driver": volunteer.id,
            "manual-day": "2026-12-01",
            "manual-time": "07:30",
            "manual-mode": "book",
        },
    )
    assert response.status_code == 302
    match = session.scalars(sa.select(Match)).one()
    assert (match.status, match.offer_id) == (MatchStatus.PROPOSED, None)
    assert {m.to_phone for m in outbox(session)} == {volunteer.phone, "+33639981234"}

    offers.accept(session, volunteer, match.id, clock)  # the volunteer says yes in "Mes trajets"
    session.commit()
    assert match.status is MatchStatus.CONFIRMED  # the resident agreed on the phone


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"manual-driver": "", "manual-day": "2026-12-01", "manual-time": "07:30"},
            "Choisissez un conducteur.",
        ),
        ({"manual-day": "2026-11-20", "manual-time": "07:30"}, "Cette heure est déjà passée."),
        ({"manual-day": "2026-12-09", "manual-time": "07:30"}, "trop loin du rendez-vous"),
        ({"manual-day": "2026-12-01", "manual-time": "25:00"}, "Cette heure n&#39;est pas valide"),
        ({"manual-day": "pas une date", "manual-time": "07:30"}, "Cette date n&#39;est pas valide."),
        (
            {"manual-offer": "999999", "manual-day": "2026-12-01", "manual-time": "07:30"},
            "Choisissez une valeur de la liste.",
        ),
    ],
)
def test_a_bad_manual_match_is_refused_with_a_message_and_nothing_saved(
    coord_client, session, association, early_request, fields, message
):
    volunteer = add_driver(session, association, insee=GOURDON)
    session.commit()
    data = {"manual-driver": volunteer.id, "manual-mode": "book", **fields}
    response = coord_client.post(f"/coordination/demandes/{early_request.id}/jumelage", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (count(session, Match), count(session, OutboundMessage)) == (0, 0)


def test_an_unvetted_driver_cannot_be_matched(coord_client, session, association, early_request):
    pending = add_driver(session, association, insee=GOURDON, vetting=VettingStatus.PENDING)
    session.commit()
    data = {
        "manual-driver": pending.id,
        "manual-day": "2026-12-01",
        "manual-time": "07:30",
        "manual-mode": "sms",
    }
    response = coord_client.post(f"/coordination/demandes/{early_request.id}/jumelage", data=data)
    assert response.status_code == 422 and count(session, Match) == 0


def test_a_request_already_taken_refuses_a_second_booking(
    coord_client, session, association, late_offer, early_request
):
    page = coord_client.get(f"/coordination/demandes/{early_request.id}").get_data(as_text=True)
    form = {**propose_form(page), "mode": "book"}
    coord_client.post(f"/coordination/demandes/{early_request.id}/proposer", data=form)
    again = coord_client.post(f"/coordination/demandes/{early_request.id}/proposer", data=form)
    assert again.status_code == 422
    assert "attend plus de solution" in again.get_data(as_text=True)
    assert count(session, Match) == 1


def test_a_forged_option_for_another_associations_driver_is_refused(
    coord_client, session, other_association, early_request, late_offer
):
    stranger = add_driver(session, other_association, insee=GOURDON)
    session.commit()
    page = coord_client.get(f"/coordination/demandes/{early_request.id}").get_data(as_text=True)
    form = {**propose_form(page), "driver_id": str(stranger.id), "offer_id": "", "mode": "book"}
    response = coord_client.post(f"/coordination/demandes/{early_request.id}/proposer", data=form)
    assert response.status_code == 422 and count(session, Match) == 0


def test_another_associations_request_is_404_on_every_route(
    client, no_csrf, session, other_association, early_request
):
    from support.drivers_kit import log_in
    from support.factories import add_coordinator

    log_in(client, add_coordinator(session, other_association, email="autre@example.org"))
    base = f"/coordination/demandes/{early_request.id}"
    assert client.get(base).status_code == 404
    assert client.post(f"{base}/proposer", data={"mode": "sms"}).status_code == 404
    assert client.post(f"{base}/jumelage", data={"manual-mode": "sms"}).status_code == 404
    listing = client.get("/coordination/sans-solution").get_data(as_text=True)
    assert "Jeanne" not in listing
    assert count(session, OutboundMessage) == 0


def test_an_expired_request_is_listed_as_unmet_with_its_reason(coord_client, session, early_request, clock):
    from carpool.models import RequestStatus

    early_request.status, early_request.unmatched_reason = RequestStatus.EXPIRED, "detour_too_long"
    early_request.latest = clock.now() - timedelta(days=1)
    early_request.earliest = early_request.latest - timedelta(hours=3)
    session.commit()
    page = text(coord_client.get("/coordination/sans-solution"))
    assert "Non satisfaites ces 7 derniers jours" in page and "détour trop long" in page


def test_the_purpose_is_hidden_from_a_coordinator_without_health_access(
    client, no_csrf, session, association, early_request
):
    from support.drivers_kit import log_in
    from support.factories import add_coordinator

    log_in(client, add_coordinator(session, association, email="b@example.org", sees_health_data=False))
    page = text(client.get(f"/coordination/demandes/{early_request.id}"))
    assert "Motif" not in page and "santé" not in page


# --- a département's worth of requests: pages ------------------------------------------------


def many_requests(session, association, n: int, *, status=None, start=None):
    """``n`` requests of ``n`` residents "Personne 00".., the appointments ten minutes apart."""
    first = start or datetime.combine(TUESDAY.date(), time(8, 0), tzinfo=PARIS)
    for i in range(n):
        person = Resident(
            association_id=association.id,
            phone=f"+336399{i:05d}",
            first_name="Personne",
            last_name=f"{i:02d}",
            home_commune_insee=CAJARC,
        )
        session.add(person)
        session.flush()
        add_request(
            session,
            association,
            resident=person,
            latest=first + timedelta(minutes=10 * i),
            status=status or RequestStatus.OPEN,
            unmatched_reason="detour_too_long" if status is RequestStatus.EXPIRED else None,
        )
    session.commit()


def listed(page: str) -> list[str]:
    """The residents named in the open requests' table, in order."""
    table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<td>Personne (\d\d)", table)


@pytest.fixture
def sixty(session, association):
    many_requests(session, association, 60)


def test_open_requests_are_shown_fifty_a_page_soonest_first(coord_client, sixty):
    first = text(coord_client.get("/coordination/sans-solution"))
    second = text(coord_client.get("/coordination/sans-solution?page=2"))

    assert listed(first) == [f"{i:02d}" for i in range(50)]
    assert listed(second) == [f"{i:02d}" for i in range(50, 60)]
    assert "60 demandes en attente (page 1 sur 2)" in first
    assert '<nav aria-label="Pages des demandes en attente" class="pager">' in first
    assert 'href="/coordination/sans-solution?page=2" rel="next"' in first
    assert 'href="/coordination/sans-solution?page=1" rel="prev"' in second
    assert 'rel="next"' not in second and "Page 2 sur 2" in second


@pytest.mark.parametrize("page", ["99", "99999999999999999999"])
def test_a_page_past_the_end_shows_the_last_one(coord_client, sixty, page):
    answer = coord_client.get(f"/coordination/sans-solution?page={page}")
    assert answer.status_code == 200
    assert listed(text(answer)) == [f"{i:02d}" for i in range(50, 60)]


@pytest.mark.parametrize("page", ["0", "-3", "abc", "", "1.5", "1e3", "un"])
def test_a_nonsense_page_shows_the_first_one(coord_client, sixty, page):
    answer = coord_client.get(f"/coordination/sans-solution?page={page}")
    assert answer.status_code == 200
    assert listed(text(answer)) == [f"{i:02d}" for i in range(50)]


def test_only_the_page_shown_goes_through_the_matcher(coord_client, sixty, monkeypatch):
    from carpool.services import matching

    seen: list[int] = []
    diagnose = matching.diagnose_many

    def spy(session, association_id, requests, clock):
        seen.append(len(requests))
        return diagnose(session, association_id, requests, clock)

    monkeypatch.setattr(matching, "diagnose_many", spy)
    coord_client.get("/coordination/sans-solution?page=2")
    assert seen == [10]


def test_a_single_page_has_no_pager(coord_client, session, association):
    many_requests(session, association, 3)
    page = text(coord_client.get("/coordination/sans-solution"))
    assert listed(page) == ["00", "01", "02"]
    assert "3 demandes en attente</caption>" in page and 'class="pager"' not in page


def test_the_unmet_list_shows_the_latest_fifty_and_says_how_many_there_are(
    coord_client, session, association, clock
):
    many_requests(
        session, association, 55, status=RequestStatus.EXPIRED, start=clock.now() - timedelta(days=6)
    )
    page = text(coord_client.get("/coordination/sans-solution"))
    unmet = page.split("Non satisfaites ces 7 derniers jours", 1)[1]
    shown = re.findall(r"<td>Personne (\d\d)", unmet)
    assert shown == [f"{i:02d}" for i in range(54, 4, -1)]  # the most recent first
    assert "55 demandes : voici les 50 plus récentes." in unmet

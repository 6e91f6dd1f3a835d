"""A driver offers rides, edits and cancels them, and answers the passengers proposed to them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import sqlalchemy as sa
from support.drivers_kit import OFFER_FORM, count, log_in, one, text
from support.factories import add_driver_account, add_proposal, add_resident

from carpool.clock import PARIS
from carpool.models import (
    AuditEvent,
    Driver,
    Match,
    MatchStatus,
    NamedPlace,
    Offer,
    OfferStatus,
    OutboundMessage,
    Request,
    RequestStatus,
    VettingStatus,
)
from carpool.services import offers as offer_service

# The clock fixture says Monday 23 November 2026, 10:00 in Paris.
OFFER = {**OFFER_FORM, "comment": "Je peux attendre pendant le rendez-vous."}


@pytest.fixture
def other_user(session, association, clock):
    return add_driver_account(
        session, association, clock, email="marc@example.org", phone="06 39 98 10 02", first_name="Marc"
    )


def offers_of(session, user) -> list[Offer]:
    rows = list(
        session.scalars(
            sa.select(Offer)
            .where(Offer.driver_id == user.driver_id)
            .order_by(Offer.depart_earliest)
            .execution_options(populate_existing=True)
        )
    )
    session.commit()
    return rows


def an_offer(session, user, clock, **changes) -> Offer:
    driver = session.get_one(Driver, user.driver_id)
    fields = {
        "origin": "Figeac",
        "destination": "Cahors",
        "day": datetime(2026, 12, 1).date(),
        "depart": datetime(2026, 12, 1, 8, 0).time(),
        **changes,
    }
    form = offer_service.OfferInput(**fields)
    (offer, *_rest) = offer_service.create_offers(session, driver, form, clock)
    session.commit()
    return offer


# --- offering a ride -----------------------------------------------------------------------


def test_the_offer_form_labels_every_field_and_suggests_places(driver_client):
    page = driver_client.get("/conducteurs/trajets/nouveau").get_data(as_text=True)

    for name in ("origin", "destination", "day", "depart", "flex_min", "seats", "max_detour_min", "comment"):
        assert f'<label for="{name}"' in page, name
    assert '<option value="Centre hospitalier de Cahors">' in page
    assert '<option value="Figeac (46100)">' in page


def test_offering_a_ride_to_a_named_place(driver_client, session, user):
    response = driver_client.post("/conducteurs/trajets/nouveau", data=OFFER)

    assert response.status_code == 303
    (offer,) = offers_of(session, user)
    place = one(session, sa.select(NamedPlace).where(NamedPlace.name == "Centre hospitalier de Cahors"))
    assert (offer.origin_commune_insee, offer.destination_commune_insee) == ("46102", "46042")
    assert offer.destination_place_id == place.id
    assert offer.depart_earliest == datetime(2026, 12, 1, 7, 45, tzinfo=PARIS)
    assert offer.depart_latest == datetime(2026, 12, 1, 8, 15, tzinfo=PARIS)
    assert (offer.seats_total, offer.seats_left, offer.max_detour_min) == (3, 3, 20)
    assert offer.status is OfferStatus.OPEN


def test_a_return_trip_creates_a_second_linked_offer(driver_client, session, user):
    driver_client.post(
        "/conducteurs/trajets/nouveau", data={**OFFER, "return_trip": "y", "return_time": "16:30"}
    )

    outward, back = offers_of(session, user)
    assert back.return_of_id == outward.id
    assert (back.origin_commune_insee, back.destination_commune_insee) == ("46042", "46102")
    assert back.depart_earliest == datetime(2026, 12, 1, 16, 15, tzinfo=PARIS)


def test_a_weekly_ride_is_materialised_up_to_the_end_date(driver_client, session, user):
    driver_client.post(
        "/conducteurs/trajets/nouveau",
        data={**OFFER, "repeat": "y", "repeat_days": ["1", "3"], "repeat_until": "2026-12-17"},
    )

    days = [o.depart_earliest.astimezone(PARIS).date().isoformat() for o in offers_of(session, user)]
    assert days == ["2026-12-01", "2026-12-03", "2026-12-08", "2026-12-10", "2026-12-15", "2026-12-17"]
    assert len({o.series_id for o in offers_of(session, user)}) == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"day": "2026-11-20"}, "day", "déjà passées"),
        ({"day": "2026-11-23", "depart": "09:30"}, "day", "déjà passées"),
        ({"origin": "Atlantis"}, "origin", "Nous ne connaissons pas la commune"),
        ({"destination": "Figeac"}, "destination", "même endroit"),
        ({"seats": "0"}, "seats", "entre 1 et 8"),
        ({"seats": "9"}, "seats", "entre 1 et 8"),
        ({"seats": "5"}, "seats", "Votre véhicule a 4 places"),
        ({"max_detour_min": "300"}, "max_detour_min", "entre 0 et 60"),
        ({"flex_min": "-5"}, "flex_min", "entre 0 et 120"),
        ({"day": ""}, "day", "Indiquez la date"),
        ({"depart": ""}, "depart", "Indiquez l'heure"),
        ({"destination": ""}, "destination", "Indiquez où vous allez"),
        ({"day": "31/02/2026"}, "day", "Cette date n'est pas valide."),
        ({"return_trip": "y", "return_time": "07:00"}, "return_time", "après l'heure de départ"),
        ({"return_trip": "y"}, "return_time", "Indiquez l'heure de départ du retour"),
        ({"repeat": "y", "repeat_until": "2026-12-20"}, "repeat_days", "au moins un jour"),
        ({"repeat": "y", "repeat_days": ["1"]}, "repeat_until", "jusqu'à quelle date"),
        (
            {"repeat": "y", "repeat_days": ["1"], "repeat_until": "2027-04-01"},
            "repeat_until",
            "douze semaines",
        ),
        (
            {"repeat": "y", "repeat_days": ["1"], "repeat_until": "2026-11-30"},
            "repeat_until",
            "après la date",
        ),
        ({"comment": "x" * 501}, "comment", "500 caractères"),
    ],
)
def test_bad_offers_come_back_with_a_message_and_nothing_is_saved(
    driver_client, session, user, changes, field, message
):
    response = driver_client.post("/conducteurs/trajets/nouveau", data={**OFFER, **changes})

    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert f'id="{field}-error"' in page
    assert count(session, Offer) == 0
    assert count(session, AuditEvent) == 1  # the sign-up only


def test_user_text_is_escaped(driver_client, session, user):
    driver_client.post("/conducteurs/trajets/nouveau", data={**OFFER, "comment": "<script>alert(1)</script>"})
    (offer,) = offers_of(session, user)

    page = driver_client.get(f"/conducteurs/trajets/{offer.id}").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- editing and cancelling ----------------------------------------------------------------


def test_editing_an_offer_changes_it(driver_client, session, user, clock):
    offer = an_offer(session, user, clock)

    page = driver_client.get(f"/conducteurs/trajets/{offer.id}/modifier").get_data(as_text=True)
    response = driver_client.post(
        f"/conducteurs/trajets/{offer.id}/modifier", data={**OFFER, "depart": "09:00", "seats": "2"}
    )

    assert 'value="Figeac (46100)"' in page
    assert response.status_code == 303
    (changed,) = offers_of(session, user)
    assert changed.depart_earliest == datetime(2026, 12, 1, 8, 45, tzinfo=PARIS)
    assert (changed.seats_total, changed.seats_left) == (2, 2)
    assert changed.updated_at > offer.updated_at or changed.updated_at == offer.updated_at


def test_with_passengers_the_time_and_place_cannot_move(driver_client, session, association, user, clock):
    offer = an_offer(session, user, clock)
    add_proposal(session, association, user, clock, offer=offer)

    moved = driver_client.post(f"/conducteurs/trajets/{offer.id}/modifier", data={**OFFER, "depart": "11:00"})
    too_few = driver_client.post(f"/conducteurs/trajets/{offer.id}/modifier", data={**OFFER, "seats": "0"})

    assert moved.status_code == 422
    assert "pas le lieu ni l'heure" in text(moved)
    assert too_few.status_code == 422
    (unchanged,) = offers_of(session, user)
    assert unchanged.depart_earliest == offer.depart_earliest
    assert (unchanged.seats_total, unchanged.seats_left) == (3, 2)


def test_seats_cannot_drop_below_those_already_promised(driver_client, session, association, user, clock):
    offer = an_offer(session, user, clock, destination="Centre hospitalier de Cahors")
    add_proposal(session, association, user, clock, offer=offer, passengers=2)
    form = {**OFFER, "day": "2026-12-01", "depart": "08:00", "flex_min": "15"}

    refused = driver_client.post(f"/conducteurs/trajets/{offer.id}/modifier", data={**form, "seats": "1"})
    accepted = driver_client.post(f"/conducteurs/trajets/{offer.id}/modifier", data={**form, "seats": "2"})

    assert refused.status_code == 422
    assert "occupent déjà plus de places" in text(refused)
    assert accepted.status_code == 303
    (changed,) = offers_of(session, user)
    assert (changed.seats_total, changed.seats_left) == (2, 0)


def test_cancelling_an_offer_without_passengers(driver_client, session, user, clock):
    offer = an_offer(session, user, clock)

    response = driver_client.post(f"/conducteurs/trajets/{offer.id}/annuler", data={"reason": ""})

    assert response.status_code == 303
    (cancelled,) = offers_of(session, user)
    assert cancelled.status is OfferStatus.CANCELLED
    assert count(session, OutboundMessage) == 0


def test_cancelling_with_passengers_asks_for_a_reason(driver_client, session, association, user, clock):
    offer = an_offer(session, user, clock)
    add_proposal(session, association, user, clock, offer=offer)

    page = driver_client.get(f"/conducteurs/trajets/{offer.id}/annuler")
    response = driver_client.post(f"/conducteurs/trajets/{offer.id}/annuler", data={"reason": "  "})

    assert "1 passager(s) comptent sur ce trajet" in text(page)
    assert response.status_code == 422
    assert "indiquez-leur pourquoi" in text(response)
    assert offers_of(session, user)[0].status is OfferStatus.OPEN


def test_cancelling_with_passengers_tells_each_of_them_and_the_coordinator(
    driver_client, session, association, user, clock
):
    offer = an_offer(session, user, clock)
    first = add_proposal(session, association, user, clock, offer=offer)
    second = add_proposal(session, association, user, clock, offer=offer)
    driver_client.post(f"/conducteurs/passagers/{first.id}/accepter")

    response = driver_client.post(
        f"/conducteurs/trajets/{offer.id}/annuler", data={"reason": "Voiture en panne"}
    )

    assert response.status_code == 303
    keys = set(session.scalars(sa.select(OutboundMessage.idempotency_key)))
    assert {
        f"offer:{offer.id}:cancelled:match:{first.id}",
        f"offer:{offer.id}:cancelled:match:{second.id}",
        f"offer:{offer.id}:cancelled:coordinator",
    } <= keys
    coordinator = one(
        session,
        sa.select(OutboundMessage).where(
            OutboundMessage.idempotency_key == f"offer:{offer.id}:cancelled:coordinator"
        ),
    )
    assert coordinator.to_phone == "+33539980001"
    assert "Voiture en panne" in coordinator.body
    matches = session.scalars(sa.select(Match).execution_options(populate_existing=True)).all()
    assert {m.status for m in matches} == {MatchStatus.CANCELLED}
    assert {m.cancel_reason for m in matches} == {"Voiture en panne"}
    requests = session.scalars(sa.select(Request).execution_options(populate_existing=True)).all()
    assert {r.status for r in requests} == {RequestStatus.OPEN}  # back to the coordinators
    (cancelled,) = offers_of(session, user)
    assert (cancelled.status, cancelled.seats_left, cancelled.cancel_reason) == (
        OfferStatus.CANCELLED,
        3,
        "Voiture en panne",
    )


def test_the_sms_a_cancelled_offer_sends_passengers_name_them_and_not_the_coordinators(
    driver_client, session, association, user, clock
):
    offer = an_offer(session, user, clock)
    match = add_proposal(session, association, user, clock, offer=offer)
    resident_id = one(session, sa.select(Request)).resident_id

    driver_client.post(f"/conducteurs/trajets/{offer.id}/annuler", data={"reason": "Voiture en panne"})

    rows = session.execute(sa.select(OutboundMessage.idempotency_key, OutboundMessage.resident_id))
    named = dict(rows.all())
    assert named == {
        f"offer:{offer.id}:cancelled:match:{match.id}": resident_id,
        f"offer:{offer.id}:cancelled:coordinator": None,
    }


# --- passengers ----------------------------------------------------------------------------


def test_a_proposed_passenger_shows_what_the_driver_needs_but_not_the_phone(
    driver_client, session, association, user, clock
):
    resident = add_resident(session, association, first_name="Odette", walker=True)
    add_proposal(session, association, user, clock, resident=resident)

    page = text(driver_client.get("/conducteurs/"))

    assert "Odette" in page
    assert "Cajarc" in page
    assert "déambulateur" in page
    assert "Accepter" in page
    assert resident.phone not in page
    assert "06 39 97" not in page


def test_accepting_a_passenger_who_chose_the_driver_confirms_the_ride(
    driver_client, session, association, user, clock
):
    resident = add_resident(session, association, first_name="Odette")
    match = add_proposal(session, association, user, clock, resident=resident)

    response = driver_client.post(f"/conducteurs/passagers/{match.id}/accepter")

    assert response.status_code == 303
    assert one(session, sa.select(Match)).status is MatchStatus.CONFIRMED
    actions = [
        e.action
        for e in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.subject_type == "Match").order_by(AuditEvent.id)
        )
    ]
    assert actions == ["match.proposed", "match.accepted", "match.confirmed"]
    sms = one(session, sa.select(OutboundMessage))
    assert (sms.idempotency_key, sms.to_phone) == (f"match:{match.id}:confirmed", resident.phone)
    page = text(driver_client.get("/conducteurs/"))
    assert "06 39 97" in page  # the phone, once accepted
    sheet = text(driver_client.get("/conducteurs/feuille-de-route?jour=2026-11-25"))
    assert "Odette" in sheet
    assert "06 39 97" in sheet


def test_accepting_a_coordinator_proposal_waits_for_the_passenger(
    driver_client, session, association, user, clock
):
    match = add_proposal(session, association, user, clock, actor="user:1")

    driver_client.post(f"/conducteurs/passagers/{match.id}/accepter")

    assert one(session, sa.select(Match)).status is MatchStatus.ACCEPTED
    assert count(session, OutboundMessage) == 0


def test_declining_a_passenger_puts_the_request_back_and_tells_them(
    driver_client, session, association, user, clock
):
    match = add_proposal(session, association, user, clock)

    response = driver_client.post(f"/conducteurs/passagers/{match.id}/refuser")

    assert response.status_code == 303
    assert one(session, sa.select(Match)).status is MatchStatus.DECLINED
    assert one(session, sa.select(Request)).status is RequestStatus.OPEN
    assert one(session, sa.select(OutboundMessage)).idempotency_key == f"match:{match.id}:declined"


def test_the_sms_telling_a_passenger_of_a_decline_names_them(
    driver_client, session, association, user, clock
):
    match = add_proposal(session, association, user, clock)

    driver_client.post(f"/conducteurs/passagers/{match.id}/refuser")

    sms = one(session, sa.select(OutboundMessage))
    assert sms.resident_id == one(session, sa.select(Request)).resident_id is not None


def test_answering_twice_is_refused_politely(driver_client, session, association, user, clock):
    match = add_proposal(session, association, user, clock)
    driver_client.post(f"/conducteurs/passagers/{match.id}/refuser")

    response = driver_client.post(f"/conducteurs/passagers/{match.id}/accepter", follow_redirects=True)

    assert "impossible de passer" in text(response)
    assert one(session, sa.select(Match)).status is MatchStatus.DECLINED


def test_a_pending_driver_never_sees_residents(client, no_csrf, session, association, clock):
    pending = add_driver_account(
        session, association, clock, email="new@example.org", vetting=VettingStatus.PENDING
    )
    resident = add_resident(session, association, first_name="Odette")
    match = add_proposal(session, association, pending, clock, resident=resident)
    log_in(client, pending)

    page = text(client.get("/conducteurs/"))
    accept = client.post(f"/conducteurs/passagers/{match.id}/accepter")

    assert "attend la validation" in page
    assert "Odette" not in page
    assert accept.status_code == 404
    assert one(session, sa.select(Match)).status is MatchStatus.PROPOSED


def test_a_pending_driver_can_offer_rides(client, no_csrf, session, association, clock):
    pending = add_driver_account(
        session, association, clock, email="new@example.org", vetting=VettingStatus.PENDING
    )
    log_in(client, pending)

    assert client.post("/conducteurs/trajets/nouveau", data=OFFER).status_code == 303
    assert count(session, Offer) == 1


# --- another driver's rides ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/conducteurs/trajets/{offer}"),
        ("get", "/conducteurs/trajets/{offer}/modifier"),
        ("post", "/conducteurs/trajets/{offer}/modifier"),
        ("get", "/conducteurs/trajets/{offer}/annuler"),
        ("post", "/conducteurs/trajets/{offer}/annuler"),
        ("post", "/conducteurs/passagers/{match}/accepter"),
        ("post", "/conducteurs/passagers/{match}/refuser"),
    ],
)
def test_another_drivers_offer_or_passenger_is_not_found(
    client, no_csrf, session, association, user, other_user, clock, method, path
):
    offer = an_offer(session, user, clock, comment="Secret de Sophie")
    resident = add_resident(session, association, first_name="Odette")
    match = add_proposal(session, association, user, clock, offer=offer, resident=resident)
    log_in(client, other_user)

    response = getattr(client, method)(
        path.format(offer=offer.id, match=match.id), data={**OFFER, "reason": "x"}
    )

    assert response.status_code == 404
    page = text(response)
    assert "Secret de Sophie" not in page
    assert "Odette" not in page
    (unchanged,) = offers_of(session, user)
    assert (unchanged.status, unchanged.seats_total, unchanged.comment) == (
        OfferStatus.OPEN,
        3,
        "Secret de Sophie",
    )
    assert one(session, sa.select(Match)).status is MatchStatus.PROPOSED


def test_another_drivers_rides_never_appear_in_my_pages(
    client, no_csrf, session, association, user, other_user, clock
):
    offer = an_offer(session, user, clock, comment="Secret de Sophie")
    resident = add_resident(session, association, first_name="Odette")
    match = add_proposal(session, association, user, clock, offer=offer, resident=resident)
    offer_service.accept(session, session.get_one(Driver, user.driver_id), match.id, clock)
    session.commit()
    log_in(client, other_user)

    pages = [
        client.get(path)
        for path in (
            "/conducteurs/",
            "/conducteurs/historique",
            "/conducteurs/feuille-de-route?jour=2026-12-01",
            "/conducteurs/indemnites?mois=2026-12",
        )
    ]

    for page in pages:
        assert page.status_code == 200
        assert "Odette" not in text(page)
        assert "Figeac (46100) →" not in text(page)


# --- races through the web -----------------------------------------------------------------


def test_fifty_clicks_on_accept_at_once_accept_once(app, no_csrf, session, association, user, clock):
    match = add_proposal(session, association, user, clock, actor="user:1")
    clients = [app.test_client() for _ in range(50)]
    for each in clients:
        log_in(each, user)
    barrier = threading.Barrier(50)

    def click(each) -> int:
        barrier.wait()
        return each.post(f"/conducteurs/passagers/{match.id}/accepter").status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(click, clients))

    assert statuses == [303] * 50  # the losers are told, no error page
    accepted = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "match.accepted")).all()
    assert len(accepted) == 1
    assert one(session, sa.select(Match)).status is MatchStatus.ACCEPTED


def test_fifty_drivers_cancelling_and_accepting_at_once_never_leave_a_passenger_on_a_cancelled_offer(
    app, no_csrf, session, association, user, clock
):
    offer = an_offer(session, user, clock)
    matches = [add_proposal(session, association, user, clock, offer=offer, actor="user:1") for _ in range(3)]
    clients = [app.test_client() for _ in range(50)]
    for each in clients:
        log_in(each, user)
    barrier = threading.Barrier(50)

    def act(n: int) -> int:
        barrier.wait()
        if n == 25:
            return (
                clients[n]
                .post(f"/conducteurs/trajets/{offer.id}/annuler", data={"reason": "panne"})
                .status_code
            )
        return clients[n].post(f"/conducteurs/passagers/{matches[n % 3].id}/accepter").status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(act, range(50)))

    assert set(codes) == {303}, "every click ends on the rides page (a flashed message), never an error page"
    (cancelled,) = offers_of(session, user)
    assert cancelled.status is OfferStatus.CANCELLED
    statuses = {m.status for m in session.scalars(sa.select(Match).execution_options(populate_existing=True))}
    assert statuses == {MatchStatus.CANCELLED}
    assert cancelled.seats_left == cancelled.seats_total


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_a_passenger_answered_while_the_driver_cancels_the_offer_is_cancelled_too(
    db, monkeypatch, session, association, user, clock, answer
):
    """The interleaving the fifty-thread test hit once on PostgreSQL, forced: the answer comes between
    the cancel's read of the matches and its write. The cancel must still win and end every match;
    the answer waits for it, then is refused politely (on SQLite, BEGIN IMMEDIATE already serialises)."""
    offer = an_offer(session, user, clock)
    match = add_proposal(session, association, user, clock, offer=offer, actor="user:1")
    driver_id, offer_id, match_id, request_id = user.driver_id, offer.id, match.id, match.request_id
    session.commit()
    outcome: list[object] = []

    def answer_meanwhile() -> None:
        with db.sessionmaker() as other:
            try:
                getattr(offer_service, answer)(other, other.get_one(Driver, driver_id), match_id, clock)
                other.commit()
                outcome.append("answered")
            except Exception as error:  # the outcome is what the test checks
                other.rollback()
                outcome.append(error)

    meanwhile = threading.Thread(target=answer_meanwhile)
    real_transition = offer_service.bookings.transition

    with db.sessionmaker() as cancelling:

        def answer_before_the_write(on, *args, **kwargs):
            if on is cancelling and meanwhile.ident is None:
                meanwhile.start()
                meanwhile.join(timeout=1.5)  # it finishes, or waits for the cancel to commit
            return real_transition(on, *args, **kwargs)

        monkeypatch.setattr(offer_service.bookings, "transition", answer_before_the_write)
        driver = cancelling.get_one(Driver, driver_id)
        cancelled = offer_service.cancel_offer(cancelling, driver, offer_id, "panne", clock)
        cancelling.commit()
    meanwhile.join(timeout=30)

    assert [m.id for m in cancelled] == [match_id]
    (refused,) = outcome
    assert isinstance(refused, offer_service.bookings.BookingError), refused
    assert str(refused).startswith("Ce trajet vient d'être annulé"), "said plainly, not as match states"
    assert one(session, sa.select(Match).where(Match.id == match_id)).status is MatchStatus.CANCELLED
    (closed,) = offers_of(session, user)
    assert (closed.status, closed.seats_left) == (OfferStatus.CANCELLED, closed.seats_total)
    assert one(session, sa.select(Request).where(Request.id == request_id)).status is RequestStatus.OPEN


def test_the_places_endpoint_suggests_communes_and_named_places(driver_client):
    places = driver_client.get("/conducteurs/lieux.json?q=cahors").get_json()["places"]

    assert places[0] == "Cahors (46000)"
    assert "Centre hospitalier de Cahors" in places
    assert len(places) <= 20


def test_history_lists_past_passengers_and_cancelled_offers(driver_client, session, association, user, clock):
    offer = an_offer(session, user, clock)
    match = add_proposal(
        session, association, user, clock, resident=add_resident(session, association, first_name="Odette")
    )
    driver_client.post(f"/conducteurs/passagers/{match.id}/refuser")
    driver_client.post(f"/conducteurs/trajets/{offer.id}/annuler", data={"reason": ""})

    page = text(driver_client.get("/conducteurs/historique"))

    assert "Odette" in page
    assert "refusé" in page
    assert "annulé" in page


def test_the_landing_page_links_to_the_drivers_area(client, association):
    page = client.get("/").get_data(as_text=True)

    assert 'href="/conducteurs/inscription"' in page
    assert 'href="/conducteurs/connexion"' in page

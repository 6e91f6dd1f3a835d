"""SMS pumping (issue 15, finding 3): who gets a reply to an inbound SMS, and how many.

Each rule counts the outbox rows the dispatcher would send; the inbound text is always stored.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from support.factories import CAJARC, WHERE, add_resident, new_message_sid, post_text

from carpool.db import point
from carpool.models import AuditEvent, Driver, InboundMessage, OutboundMessage, Resident
from carpool.notify import outbox
from carpool.notify.budget import ReplyLimits
from carpool.services.sms_inbound import BUDGET_REACHED, handle_inbound

STRANGER = "+33639985555"


def text(client, body: str, sender: str):
    response = post_text(client, body, sender)
    assert response.status_code == 200
    return response


def replies_to(db, phone: str) -> list[str]:
    with db.session() as session:
        query = sa.select(OutboundMessage.body).where(OutboundMessage.to_phone == phone)
        return list(session.scalars(query.order_by(OutboundMessage.id)))


def stored_from(db, phone: str) -> int:
    with db.session() as session:
        query = sa.select(sa.func.count()).where(InboundMessage.from_phone == phone)
        return session.scalar(query.select_from(InboundMessage))


def alerts(db) -> list[AuditEvent]:
    with db.session() as session:
        return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == BUDGET_REACHED)))


# --- strangers -------------------------------------------------------------------------------


def test_an_unknown_number_gets_one_reply_a_day(client, db, association, clock):
    for body in ("bonjour", "allo ?", "je voudrais un taxi"):
        text(client, body, STRANGER)
    clock.advance(hours=14)  # Tuesday 00:00 in Paris: a new day
    text(client, "bonjour", STRANGER)

    assert len(replies_to(db, STRANGER)) == 2
    assert stored_from(db, STRANGER) == 4


@pytest.mark.parametrize(
    "sender",
    [
        "+447700900123",  # abroad
        "+33565123456",  # a French landline
        "+33899123456",  # premium 089
        "+33812345678",  # 08
        "+3361234",  # too short to be a mobile
        "+336123456789",  # too long
        "+36123",  # a short code
    ],
)
def test_non_french_or_non_mobile_strangers_get_no_reply(client, db, association, sender):
    text(client, "bonjour", sender)

    assert replies_to(db, sender) == []
    assert stored_from(db, sender) == 1


def test_a_known_resident_on_a_foreign_number_is_answered(client, db, session, association):
    resident = add_resident(session, association, phone="+32470123456")
    session.commit()

    text(client, "blablabla", resident.phone)

    assert len(replies_to(db, resident.phone)) == 1


def test_stop_from_an_unknown_number_gets_no_reply_and_nothing_after(client, db, association):
    text(client, "STOP", STRANGER)
    text(client, "bonjour", STRANGER)

    assert replies_to(db, STRANGER) == []
    assert stored_from(db, STRANGER) == 2


def test_start_lets_an_unknown_number_be_answered_again(client, db, association):
    text(client, "STOP", STRANGER)
    text(client, "START", STRANGER)

    assert len(replies_to(db, STRANGER)) == 1


def test_a_drivers_stop_is_not_answered_and_stops_every_sms_to_them(client, db, session, association):
    driver_phone = "+33639981001"
    session.add(
        Driver(
            association_id=association.id,
            first_name="Marc",
            last_name="Vidal",
            email="marc@example.org",
            phone=driver_phone,
            home_commune_insee=CAJARC,
            home_point=point(*WHERE[CAJARC]),
        )
    )
    session.commit()

    text(client, "STOP", driver_phone)
    with db.session() as later:
        queued = outbox.enqueue(later, "match:1:driver", driver_phone, "Nouveau passager")
        later.commit()

    assert queued is None
    assert replies_to(db, driver_phone) == []


def test_a_repeated_stop_from_a_resident_gets_one_receipt(client, db, session, association):
    resident = add_resident(session, association)
    session.commit()

    text(client, "STOP", resident.phone)
    text(client, "STOP", resident.phone)
    text(client, "stop svp", resident.phone)

    assert replies_to(db, resident.phone) == ["Vous ne recevrez plus nos SMS. Répondez START pour reprendre."]


# --- budgets ---------------------------------------------------------------------------------


def test_the_per_number_budget_stops_replies_and_alerts_coordinators_once(
    app, client, db, session, association, clock
):
    app.config["SMS_REPLY_BUDGET_PER_NUMBER"] = 3
    resident = add_resident(session, association)
    session.commit()

    for _ in range(6):
        text(client, "blablabla", resident.phone)

    assert len(replies_to(db, resident.phone)) == 3
    assert stored_from(db, resident.phone) == 6
    (alert,) = alerts(db)
    assert (alert.association_id, alert.details["scope"], alert.details["limit"]) == (
        association.id,
        "number",
        3,
    )
    assert resident.phone not in str(alert.details)


def test_the_per_number_budget_starts_again_the_next_hour(app, client, db, session, association, clock):
    app.config["SMS_REPLY_BUDGET_PER_NUMBER"] = 1
    resident = add_resident(session, association)
    session.commit()
    text(client, "blablabla", resident.phone)
    text(client, "blablabla", resident.phone)
    clock.advance(hours=1)

    text(client, "blablabla", resident.phone)

    assert len(replies_to(db, resident.phone)) == 2


def test_the_global_budget_stops_replies_to_everyone_and_alerts_once(app, client, db, session, association):
    app.config["SMS_REPLY_BUDGET_GLOBAL"] = 2
    residents = [add_resident(session, association) for _ in range(4)]
    session.commit()

    for resident in residents:
        text(client, "blablabla", resident.phone)
        text(client, "blablabla", resident.phone)

    with db.session() as check:
        assert check.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 2
    (alert,) = alerts(db)
    assert alert.details["scope"] == "global"


def test_budgets_hold_with_many_workers_at_once(db, session, association, clock):
    """Eight webhooks handled at the same moment by eight workers: the database counts."""
    residents = [add_resident(session, association) for _ in range(8)]
    session.commit()
    barrier, errors = threading.Barrier(len(residents)), []

    def deliver(resident: Resident) -> None:
        try:
            with db.session() as mine:
                barrier.wait()
                handle_inbound(
                    mine,
                    message_sid=new_message_sid(),
                    from_phone=resident.phone,
                    to_phone="+33639980000",
                    body="blablabla",
                    clock=clock,
                    limits=ReplyLimits(per_number_hour=10, global_hour=3),
                )
                mine.commit()
        except Exception as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    workers = [threading.Thread(target=deliver, args=(r,)) for r in residents]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    with db.session() as check:
        assert check.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 3
        assert check.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 8
    assert len(alerts(db)) == 1


def test_the_daily_purge_forgets_old_counters_and_sign_up_codes(db, session, association, clock):
    from datetime import timedelta

    from carpool.models import PhoneVerification, SmsCounter
    from carpool.notify.budget import hour_window, take
    from carpool.services.purge import purge_all

    take(session, "old", 10, hour_window(clock.now() - timedelta(days=3)))
    take(session, "recent", 10, hour_window(clock.now()))
    session.add(PhoneVerification(phone=STRANGER, code_hash="-", expires_at=clock.now(), attempts=0))
    session.flush()
    session.execute(sa.update(PhoneVerification).values(created_at=clock.now() - timedelta(days=3)))
    session.commit()

    purge_all(session, clock.now())
    session.commit()

    assert list(session.scalars(sa.select(SmsCounter.key))) == ["recent"]
    assert session.scalar(sa.select(sa.func.count()).select_from(PhoneVerification)) == 0

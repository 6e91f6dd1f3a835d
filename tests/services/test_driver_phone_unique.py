"""One driver account per phone number, guarded by the database (a unique index on driver.phone).

The sign-up checks the number before writing; two sign-ups racing with one number (two tabs,
two proofs) can both pass that check, and only the index sees the second one.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from support.factories import FIRST_PHONE, PASSWORD, add_driver, add_driver_account, prove_phone

from carpool.errors import InvalidInput
from carpool.models import Driver, PhoneVerification, UserAccount
from carpool.services import drivers, phone_check
from carpool.text import normalise_mobile

PHONE = normalise_mobile(FIRST_PHONE)


def sign_up_form(email: str, proof: int, association_id: int) -> drivers.SignUp:
    return drivers.SignUp(
        first_name="Sophie",
        last_name="Delmas",
        email=email,
        phone=FIRST_PHONE,
        home_commune="46000 Cahors",
        seats=3,
        wheelchair_accessible=False,
        password=PASSWORD,
        association_id=association_id,
        phone_proof=proof,
    )


def rows(db, model) -> int:
    with db.session() as fresh:
        return fresh.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_database_refuses_a_second_driver_with_the_same_number(session, association):
    first = add_driver(session, association)
    second = add_driver(session, association)
    second.phone = first.phone

    with pytest.raises(IntegrityError):
        session.flush()


def test_a_sign_up_that_got_past_the_check_gets_the_french_message_and_leaves_nothing(
    db, session, association, clock, monkeypatch
):
    """As the second of two racing sign-ups: its check ran before the first one committed."""
    association_id = association.id
    proof = prove_phone(session, FIRST_PHONE, clock)
    session.commit()
    add_driver_account(session, association, clock, email="premier@example.org", phone=FIRST_PHONE)
    checked = phone_check.phone_has_account
    looks = iter(range(100))

    def first_look_misses(own, phone: str) -> bool:
        return next(looks) > 0 and checked(own, phone)

    monkeypatch.setattr(phone_check, "phone_has_account", first_look_misses)

    with pytest.raises(InvalidInput) as refused, db.session() as own:
        drivers.sign_up(own, sign_up_form("second@example.org", proof, association_id), clock)

    assert refused.value.errors == {"phone": phone_check.ACCOUNT_EXISTS}
    assert rows(db, Driver) == 1 and rows(db, UserAccount) == 1
    with db.session() as fresh:
        assert fresh.get_one(PhoneVerification, proof).used_at is None


def test_two_sign_ups_racing_with_one_number_make_one_driver(db, session, association, clock, monkeypatch):
    """Each with its own valid proof; on PostgreSQL both pass the check before either inserts.

    SQLite cannot overlap them: every transaction starts with BEGIN IMMEDIATE (carpool/db.py),
    so the second waits for the first to commit and its check sees the account. On PostgreSQL
    the barrier holds both just after their check, so the second one is caught by the index.
    """
    association_id = association.id
    proofs = [prove_phone(session, FIRST_PHONE, clock) for _ in range(2)]
    session.commit()  # the test's own session holds nothing while the two sign-ups run
    overlap = db.dialect == "postgresql"
    after_check = threading.Barrier(2)
    start = threading.Barrier(2)
    waited = threading.local()
    checked = phone_check.phone_has_account

    def check_then_wait(own, phone: str) -> bool:
        found = checked(own, phone)
        if overlap and not getattr(waited, "done", False):
            waited.done = True
            after_check.wait(timeout=30)
        return found

    monkeypatch.setattr(phone_check, "phone_has_account", check_then_wait)

    def attempt(n: int) -> dict[str, str]:
        start.wait(timeout=30)
        try:
            with db.session() as own:
                drivers.sign_up(own, sign_up_form(f"d{n}@example.org", proofs[n], association_id), clock)
            return {}
        except InvalidInput as refused:
            return refused.errors

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, range(2)))

    assert sorted(outcomes, key=len) == [{}, {"phone": phone_check.ACCOUNT_EXISTS}]
    assert rows(db, Driver) == 1 and rows(db, UserAccount) == 1
    assert not after_check.broken

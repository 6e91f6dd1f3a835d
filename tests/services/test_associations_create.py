"""Several associations on one instance: ``carpool association create`` and routing by the number texted."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support.factories import (
    RESIDENT_PHONE,
    SERVICE_NUMBER,
    add_association,
    add_coordinator,
    add_resident,
    post_text,
)
from test_cli import carpool

from carpool.errors import InvalidInput
from carpool.models import (
    Association,
    AuditEvent,
    Conversation,
    InboundMessage,
    OutboundMessage,
    Role,
    UserAccount,
)
from carpool.services import associations
from carpool.services.accounts import reset_token_user, verify_password

VAL_DOISE_NUMBER = "+33639980095"


def counts(db) -> tuple[int, int, int]:
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Association, UserAccount, AuditEvent)
        )


# --- the command -----------------------------------------------------------------------------


def test_create_prints_the_id_and_a_link_where_the_first_admin_chooses_a_password(
    database_url, db, client, no_csrf
):
    result = carpool(
        database_url,
        "association",
        "create",
        "Val-d'Oise Solidarité",
        "--departements",
        "95",
        "--sms-number",
        "06 39 98 00 95",
        "--admin-email",
        "Claire@Example.org",
    )

    assert result.returncode == 0, result.stderr
    with db.session() as session:
        created = session.scalars(sa.select(Association)).one()
        admin = session.scalars(sa.select(UserAccount)).one()
        assert (created.departements, created.sms_number) == ("95", "06 39 98 00 95")
        assert (admin.email, admin.association_id, admin.role.value) == (
            "claire@example.org",
            created.id,
            "admin",
        )
    assert f"association n° {created.id} créée" in result.stdout
    path = re.search(r"https?://[^/\s]+(/conducteurs/mot-de-passe/\S+)", result.stdout)
    assert path is not None, result.stdout
    form = {"password": "un-mot-de-passe-solide", "password_confirm": "un-mot-de-passe-solide"}
    answer = client.post(path[1], data=form)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/coordination/connexion")
    with db.session() as session:
        assert verify_password(session.get_one(UserAccount, admin.id).password_hash, "un-mot-de-passe-solide")
    assert client.post(path[1], data=form).status_code == 410  # the link works once


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--departements", "99", "département inconnu : « 99 »"),
        ("--departements", "9x", "département inconnu : « 9x »"),
        ("--sms-number", "05 65 00 00 00", "portable"),
        ("--sms-number", "06 39 98 00 00", "déjà celui d'une autre association"),
        ("NAME", "lot mobilite", "une association s'appelle déjà « lot mobilite »"),
    ],
)
def test_bad_input_is_one_french_line_exit_1_and_nothing_created(
    database_url, db, session, association, option, value, said
):
    arguments = {"NAME": "Creuse Solidarité", "--departements": "95", "--sms-number": VAL_DOISE_NUMBER}
    arguments[option] = value
    before = counts(db)

    result = carpool(
        database_url,
        "association",
        "create",
        arguments.pop("NAME"),
        *[part for pair in arguments.items() for part in pair],
        "--admin-email",
        "claire@example.org",
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("erreur : ")
    assert said in result.stderr
    assert counts(db) == before


def test_without_an_admin_email_the_association_is_created_and_the_next_step_said(session, clock):
    created = associations.create_association(session, "Cergy Entraide", ("95",), VAL_DOISE_NUMBER, clock)

    assert created.admin is None and created.password_secret is None
    assert created.association.departements == "95"


def test_an_admin_email_already_used_is_refused(session, association, clock):
    add_coordinator(session, association, email="pris@example.org")

    with pytest.raises(InvalidInput) as refused:
        associations.create_association(
            session, "Cergy Entraide", ("95",), VAL_DOISE_NUMBER, clock, admin_email="pris@example.org"
        )

    assert "admin_email" in refused.value.errors


def test_departements_are_read_the_way_people_type_them():
    assert associations.parse_departements(" 23, 87 ;2a 23") == ("23", "87", "2A")


# --- routing by the number texted ---------------------------------------------------------------


@pytest.fixture
def two_associations(session, association):
    """The Lot (SERVICE_NUMBER) and the Val-d'Oise, both knowing the same person."""
    val_doise = add_association(session, "Val-d'Oise Solidarité", sms_number="06 39 98 00 95")
    lot_record = add_resident(session, association, RESIDENT_PHONE, first_name="Jeanne")
    val_record = add_resident(session, val_doise, RESIDENT_PHONE, first_name="Jeanne")
    session.commit()
    return association, val_doise, lot_record, val_record


def test_the_number_texted_names_the_association_in_any_spelling(session, two_associations):
    lot, val_doise, _lot_record, _val_record = two_associations

    assert associations.association_for_number(session, "+33 6 39 98 00 95").id == val_doise.id
    assert associations.association_for_number(session, "0639980000").id == lot.id
    assert associations.association_for_number(session, "+33639989999") is None
    assert associations.association_for_number(session, "") is None


def test_a_person_known_to_two_associations_is_answered_by_the_one_they_wrote_to(
    client, db, two_associations
):
    _lot, val_doise, _lot_record, val_record = two_associations

    post_text(client, "bonjour", RESIDENT_PHONE, To=VAL_DOISE_NUMBER)

    with db.session() as session:
        inbound = session.scalars(sa.select(InboundMessage)).one()
        assert (inbound.association_id, inbound.resident_id) == (val_doise.id, val_record.id)
        replies = session.scalars(sa.select(OutboundMessage)).all()
        assert replies and {r.association_id for r in replies} == {val_doise.id}
        conversations = session.scalars(sa.select(Conversation)).all()
        assert {c.association_id for c in conversations} <= {val_doise.id}


def test_each_association_keeps_its_own_conversation_with_the_same_number(client, db, two_associations):
    lot, val_doise, _lot_record, _val_record = two_associations

    post_text(client, "je voudrais aller a cahors", RESIDENT_PHONE)
    post_text(client, "je voudrais aller a pontoise", RESIDENT_PHONE, To=VAL_DOISE_NUMBER)

    with db.session() as session:
        conversations = session.scalars(sa.select(Conversation).order_by(Conversation.association_id)).all()
        assert [c.association_id for c in conversations] == [lot.id, val_doise.id]


def test_a_number_no_association_has_goes_to_the_senders_own_association(client, db, session, association):
    val_doise = add_association(session, "Val-d'Oise Solidarité", sms_number="06 39 98 00 95")
    resident = add_resident(session, val_doise, RESIDENT_PHONE)
    session.commit()

    post_text(client, "bonjour", RESIDENT_PHONE, To="+33639989999")

    with db.session() as session:
        inbound = session.scalars(sa.select(InboundMessage)).one()
        assert (inbound.association_id, inbound.resident_id) == (val_doise.id, resident.id)


def test_a_stranger_is_answered_by_the_association_they_wrote_to(client, db, two_associations):
    _lot, val_doise, _lot_record, _val_record = two_associations

    post_text(client, "bonjour", "+33639985555", To=VAL_DOISE_NUMBER)

    with db.session() as session:
        inbound = session.scalars(sa.select(InboundMessage)).one()
        assert (inbound.association_id, inbound.resident_id) == (val_doise.id, None)
    assert SERVICE_NUMBER != VAL_DOISE_NUMBER


# --- a first admin later, or a new link ------------------------------------------------------------


def test_an_association_made_without_admin_gets_one_later_and_a_new_link_when_asked_again(session, clock):
    created = associations.create_association(session, "Cergy Entraide", ("95",), VAL_DOISE_NUMBER, clock)
    admin, first = associations.admin_link(session, created.association.id, "Lea@Example.org", clock)

    with pytest.raises(InvalidInput):  # twice within two minutes
        associations.admin_link(session, created.association.id, "lea@example.org", clock)
    clock.advance(minutes=3)
    again, second = associations.admin_link(session, created.association.id, "lea@example.org", clock)

    assert (admin.id, admin.email, admin.role.value) == (again.id, "lea@example.org", "admin")
    assert reset_token_user(session, first, clock) is None  # the earlier link stops working
    assert reset_token_user(session, second, clock).id == admin.id


def test_an_address_of_another_association_is_not_made_an_admin(session, association, clock):
    add_coordinator(session, association, email="pris@example.org", role=Role.ADMIN)
    created = associations.create_association(session, "Cergy Entraide", ("95",), VAL_DOISE_NUMBER, clock)

    with pytest.raises(InvalidInput) as refused:
        associations.admin_link(session, created.association.id, "pris@example.org", clock)

    assert "autre compte" in refused.value.errors["admin_email"]


def test_the_admin_command_for_an_unknown_association_is_one_line_and_exit_1(database_url, db):
    result = carpool(database_url, "association", "admin", "999", "lea@example.org")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "erreur : aucune association n° 999\n"

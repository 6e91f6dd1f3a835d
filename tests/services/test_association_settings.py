"""Association settings within sane bounds; coordinators' accounts created, changed and revoked."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.factories import add_association

from carpool.errors import InvalidInput
from carpool.models import ApiToken, AuditEvent, Role, UserAccount
from carpool.services import accounts
from carpool.services.association_settings import (
    NewAccount,
    SettingsInput,
    create_account,
    is_revoked,
    revoke_account,
    update_account,
    update_settings,
)

PASSWORD = "cheval-agrafe-42"


@pytest.fixture
def admin(session, association) -> UserAccount:
    return create_account(
        session, association.id, NewAccount("admin@example.org", Role.ADMIN, True, PASSWORD), actor="cli"
    )


def settings(**changes) -> SettingsInput:
    fields = {
        "sms_number": "07 81 23 45 67",
        "phone": "05 65 12 34 56",
        "rate_per_km": "0,35",
        "sms_retention_days": 60,
        "inactive_resident_retention_days": 365,
    }
    return SettingsInput(**{**fields, **changes})


def test_settings_are_stored_the_french_way(session, association):
    update_settings(session, association, settings(phone="+33 5 65 12 34 56"), actor="user:1")

    assert (association.sms_number, association.phone) == ("07 81 23 45 67", "05 65 12 34 56")
    assert association.rate_per_km == Decimal("0.350")
    assert (association.sms_retention_days, association.inactive_resident_retention_days) == (60, 365)


def test_changed_settings_are_audited_with_before_and_after(session, association):
    update_settings(session, association, settings(), actor="user:1")

    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "association.settings_changed")
    ).one()
    assert event.details["rate_per_km"] == {"before": "0.529", "after": "0.350"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sms_number": "05 65 12 34 56"}, "sms_number"),
        ({"sms_number": "12"}, "sms_number"),
        ({"phone": "12 34"}, "phone"),
        ({"rate_per_km": "2,01"}, "rate_per_km"),
        ({"rate_per_km": "-0,1"}, "rate_per_km"),
        ({"rate_per_km": "beaucoup"}, "rate_per_km"),
        ({"sms_retention_days": 6}, "sms_retention_days"),
        ({"sms_retention_days": 366}, "sms_retention_days"),
        ({"inactive_resident_retention_days": 179}, "inactive_resident_retention_days"),
        ({"inactive_resident_retention_days": 3651}, "inactive_resident_retention_days"),
        ({"return_window_min": 29}, "return_window_min"),
        ({"return_window_min": 241}, "return_window_min"),
    ],
)
def test_out_of_bounds_settings_are_refused_and_nothing_changes(session, association, changes, field):
    sms_number = association.sms_number
    with pytest.raises(InvalidInput) as refused:
        update_settings(session, association, settings(**changes), actor="user:1")

    assert field in refused.value.errors
    assert association.rate_per_km == Decimal("0.529") and association.sms_number == sms_number


def test_the_return_window_is_changed_and_audited_or_left_as_it_is(session, association):
    update_settings(session, association, settings(return_window_min=120), actor="user:1")
    update_settings(session, association, settings(), actor="user:1")

    assert association.return_window_min == 120
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "association.settings_changed").limit(1)
    ).one()
    assert event.details["return_window_min"] == {"before": "90", "after": "120"}


def test_two_associations_cannot_share_an_sms_number(session, association):
    add_association(session, "Argenteuil Solidarité", sms_number="+33781234567", phone=None)

    with pytest.raises(InvalidInput, match="autre association"):
        update_settings(session, association, settings(sms_number="07 81 23 45 67"), actor="user:1")


def test_a_new_coordinator_can_log_in_with_the_initial_password(session, association, admin, clock):
    create_account(
        session,
        association.id,
        NewAccount(" Paul@Example.org ", Role.COORDINATOR, False, PASSWORD),
        actor="user:1",
    )

    user = accounts.authenticate(session, "paul@example.org", PASSWORD, clock)

    assert user is not None and user.role is Role.COORDINATOR and not user.sees_health_data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (NewAccount("admin@example.org", Role.COORDINATOR, False, PASSWORD), "email"),
        (NewAccount("pas-une-adresse", Role.COORDINATOR, False, PASSWORD), "email"),
        (NewAccount("paul@example.org", Role.DRIVER, False, PASSWORD), "role"),
        (NewAccount("paul@example.org", Role.COORDINATOR, False, "court"), "password"),
    ],
)
def test_bad_accounts_are_refused(session, association, admin, data, field):
    with pytest.raises(InvalidInput) as refused:
        create_account(session, association.id, data, actor="user:1")

    assert field in refused.value.errors


def test_the_last_admin_cannot_step_down(session, association, admin):
    with pytest.raises(InvalidInput, match="dernier compte administrateur"):
        update_account(session, admin, role=Role.COORDINATOR, sees_health_data=True, actor="user:1")

    assert admin.role is Role.ADMIN


def test_an_admin_may_step_down_once_another_admin_exists(session, association, admin):
    create_account(
        session, association.id, NewAccount("b@example.org", Role.ADMIN, True, PASSWORD), actor="cli"
    )

    update_account(session, admin, role=Role.COORDINATOR, sees_health_data=True, actor="user:1")

    assert admin.role is Role.COORDINATOR


def test_a_revoked_account_has_no_way_in_left(session, association, admin, clock):
    paul = create_account(
        session, association.id, NewAccount("paul@example.org", Role.COORDINATOR, True, PASSWORD), actor="cli"
    )
    accounts.create_api_token(session, paul, "téléphone", clock)
    version = paul.session_version

    revoke_account(session, paul, by=admin, clock=clock)

    assert is_revoked(paul) and paul.session_version == version + 1
    assert accounts.authenticate(session, "paul@example.org", PASSWORD, clock) is None
    assert session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == paul.id)) is not None


def test_nobody_revokes_their_own_access(session, association, admin, clock):
    with pytest.raises(InvalidInput, match="propre accès"):
        revoke_account(session, admin, by=admin, clock=clock)


def test_a_revoked_admin_does_not_count_as_another_admin(session, association, admin, clock):
    other = create_account(
        session, association.id, NewAccount("b@example.org", Role.ADMIN, True, PASSWORD), actor="cli"
    )
    revoke_account(session, other, by=admin, clock=clock)

    with pytest.raises(InvalidInput, match="dernier compte administrateur"):
        update_account(session, admin, role=Role.COORDINATOR, sees_health_data=False, actor="user:1")


def test_creating_a_revoked_account_again_gives_access_back(session, association, admin, clock):
    paul = create_account(
        session, association.id, NewAccount("paul@example.org", Role.COORDINATOR, True, PASSWORD), actor="cli"
    )
    revoke_account(session, paul, by=admin, clock=clock)

    again = create_account(
        session,
        association.id,
        NewAccount("paul@example.org", Role.COORDINATOR, False, "nouveau-mot-2"),
        actor="cli",
    )

    assert again.id == paul.id
    assert accounts.authenticate(session, "paul@example.org", "nouveau-mot-2", clock) is not None

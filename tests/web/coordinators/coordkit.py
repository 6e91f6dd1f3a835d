"""Builders for the coordinators' dashboard tests: two associations, their coordinators."""

from __future__ import annotations

from drivers_kit import PASSWORD

from carpool.models import Role, UserAccount
from carpool.services import accounts


def make_coordinator(
    session,
    association,
    *,
    email: str = "claire@example.org",
    role: Role = Role.COORDINATOR,
    sees_health_data: bool = True,
) -> UserAccount:
    user = UserAccount(
        email=email,
        password_hash=accounts.hash_password(PASSWORD),
        role=role,
        association_id=association.id,
        sees_health_data=sees_health_data,
    )
    session.add(user)
    session.commit()
    return user

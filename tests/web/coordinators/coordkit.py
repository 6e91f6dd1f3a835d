"""Builders for the coordinators' dashboard tests: two associations, their coordinators."""

from __future__ import annotations

import sqlalchemy as sa
from drivers_kit import PASSWORD

from carpool.models import Role, UserAccount
from carpool.services import accounts

#: The second factor of the coordinators built here (tests compute their codes from it).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def page_queries(db, client, url: str) -> int:
    """SQL statements one page view runs (the pages must not run one per row)."""
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def make_coordinator(
    session,
    association,
    *,
    email: str = "claire@example.org",
    role: Role = Role.COORDINATOR,
    sees_health_data: bool = True,
    totp: bool | None = None,
) -> UserAccount:
    """A coordinator; enrolled in the second factor when ``totp``, or by default when required."""
    user = UserAccount(
        email=email,
        password_hash=accounts.hash_password(PASSWORD),
        role=role,
        association_id=association.id,
        sees_health_data=sees_health_data,
    )
    if totp is None:
        totp = role is Role.ADMIN or sees_health_data
    if totp:
        user.totp_secret = TOTP_SECRET
    session.add(user)
    session.commit()
    return user


def second_factor_in_browser(page, clock) -> None:
    """The code step of a log-in in a real browser (after « Se connecter »)."""
    import pyotp

    clock.advance(seconds=30)
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(TOTP_SECRET).at(clock.now()))
    with page.expect_navigation():  # is_visible() right after must see the next page
        page.get_by_role("button", name="Valider").click()


def second_factor(client, clock=None) -> object:
    """Finish a log-in at the code step with the next code (each code works once)."""
    import pyotp

    clock = clock or client.application.extensions["carpool.clock"]
    clock.advance(seconds=30)
    code = pyotp.TOTP(TOTP_SECRET).at(clock.now())
    return client.post("/coordination/connexion/code", data={"code": code})

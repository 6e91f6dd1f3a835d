"""Helpers of the coordinators' dashboard tests: queries per page, the second factor."""

from __future__ import annotations

import sqlalchemy as sa

from support.factories import TOTP_SECRET


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


def demo_association_of(session, email: str = "coord@demo.test") -> int:
    """The association of the demo coordinator who logs in: the demo seeds two, and a page of
    the other one is rightly a 404, so rows for these pages are picked in this one (by id)."""
    from carpool.models import UserAccount

    return session.scalar(sa.select(UserAccount.association_id).where(UserAccount.email == email))

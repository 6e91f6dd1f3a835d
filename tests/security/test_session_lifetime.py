"""Sessions end on the server after a time idle (30 min on the dashboard, 2 h for drivers)
and 12 h after the log-in whatever happens (issue 15, finding 6)."""

from __future__ import annotations

import pytest
from support.factories import PASSWORD, add_coordinator

pytestmark = pytest.mark.usefixtures("cheap_passwords")

DRIVER_HOME, COORD_HOME = "/conducteurs/", "/coordination/"


def form_log_in(client, login_url: str, email: str) -> None:
    response = client.post(login_url, data={"email": email, "password": PASSWORD})
    assert response.status_code == 302


def is_logged_in(client, home: str) -> bool:
    return client.get(home).status_code == 200


@pytest.fixture
def plain_coordinator(session, association):
    """A coordinator who does not see trip purposes: no second factor required."""
    return add_coordinator(session, association, email="paul@example.org", sees_health_data=False)


@pytest.mark.parametrize(
    ("who", "login_url", "home", "idle_min"),
    [
        ("plain_coordinator", "/coordination/connexion", COORD_HOME, 30),
        ("driver", "/conducteurs/connexion", DRIVER_HOME, 120),
    ],
    ids=["coordinator-half-an-hour", "driver-two-hours"],
)
def test_a_session_idle_too_long_is_logged_out(
    request, client, no_csrf, clock, who, login_url, home, idle_min
):
    form_log_in(client, login_url, request.getfixturevalue(who).email)
    clock.advance(minutes=idle_min - 1)
    assert is_logged_in(client, home)

    clock.advance(minutes=idle_min, seconds=1)

    assert not is_logged_in(client, home)


def test_an_active_session_still_ends_twelve_hours_after_the_log_in(client, no_csrf, driver, clock):
    form_log_in(client, "/conducteurs/connexion", driver.email)
    for _ in range(11):
        clock.advance(hours=1)
        assert is_logged_in(client, DRIVER_HOME)

    clock.advance(hours=1, seconds=1)

    assert not is_logged_in(client, DRIVER_HOME)


def test_a_replayed_old_cookie_is_refused_once_idle_too_long(app, no_csrf, driver, clock):
    browser = app.test_client()
    form_log_in(browser, "/conducteurs/connexion", driver.email)
    old = browser.get_cookie("session").value
    clock.advance(hours=1)
    assert is_logged_in(browser, DRIVER_HOME)  # the browser stays active…

    clock.advance(hours=1, seconds=1)
    thief = app.test_client()
    thief.set_cookie("session", old)

    assert not is_logged_in(thief, DRIVER_HOME)  # …but a copy of its first cookie is too old

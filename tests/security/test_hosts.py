"""Links sent by SMS never take the request's host name, and unknown host names are refused.

A password-reset link carries a secret: built on the Host header (or on X-Forwarded-Host
behind a proxy), it would send that secret to whoever chose the name.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.drivers_kit import count

from carpool import create_app
from carpool.config import trusted_hosts
from carpool.errors import StartupError
from carpool.models import OutboundMessage

PUBLIC = "https://covoit.example.org"
FORGOT = "/conducteurs/mot-de-passe-oublie"


@pytest.fixture
def public_app(app, no_csrf):
    """The app as deployed at PUBLIC (the tests' client still speaks to localhost, a local name)."""
    app.config.update(PUBLIC_BASE_URL=PUBLIC, TRUSTED_HOSTS=trusted_hosts("", PUBLIC))
    return app


@pytest.fixture
def proxied_app(db, clock):
    """Behind one trusted reverse proxy: X-Forwarded-Host is believed, as on a real deployment."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "CLOCK": clock,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "PROXY_FIX_HOPS": 1,
            "PUBLIC_BASE_URL": PUBLIC,  # TRUSTED_HOSTS unset: derived from it
        }
    )


def sms_bodies(session) -> list[str]:
    bodies = list(session.scalars(sa.select(OutboundMessage.body)))
    session.commit()
    return bodies


def test_a_reset_link_points_at_the_public_address_whatever_the_host(public_app, session, driver):
    public_app.test_client().post(FORGOT, data={"email": driver.email}, base_url="http://localhost:8000")

    (body,) = sms_bodies(session)
    assert f"{PUBLIC}/conducteurs/mot-de-passe/" in body
    assert "localhost" not in body


def test_a_reset_link_keeps_the_path_of_the_public_address(public_app, session, driver):
    public_app.config["PUBLIC_BASE_URL"] = "https://asso.example.org/covoiturage/"

    public_app.test_client().post(FORGOT, data={"email": driver.email})

    (body,) = sms_bodies(session)
    assert "https://asso.example.org/covoiturage/conducteurs/mot-de-passe/" in body


def test_a_forged_host_header_is_refused_and_nothing_is_sent(public_app, session, driver):
    response = public_app.test_client().post(
        FORGOT, data={"email": driver.email}, base_url="http://evil.example"
    )

    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "inconnue" in response.get_data(as_text=True)
    assert count(session, OutboundMessage) == 0


def test_a_forged_x_forwarded_host_behind_a_proxy_is_refused(proxied_app, session, driver):
    response = proxied_app.test_client().post(
        FORGOT, data={"email": driver.email}, headers={"X-Forwarded-Host": "evil.example"}
    )

    assert response.status_code == 400
    assert count(session, OutboundMessage) == 0


def test_the_public_host_forwarded_by_the_proxy_is_served(proxied_app, session, driver):
    response = proxied_app.test_client().post(
        FORGOT,
        data={"email": driver.email},
        headers={"X-Forwarded-Host": "covoit.example.org", "X-Forwarded-Proto": "https"},
    )

    assert response.status_code == 302
    (body,) = sms_bodies(session)
    assert f"{PUBLIC}/conducteurs/mot-de-passe/" in body


@pytest.mark.parametrize("path", ["/", "/conducteurs/connexion", "/api/v1/me", "/nulle-part"])
def test_any_page_asked_under_an_unknown_host_is_a_plain_400(public_app, path):
    response = public_app.test_client().get(path, base_url="http://evil.example")

    assert response.status_code == 400
    assert "inconnue" in response.get_data(as_text=True)


def test_the_api_answers_an_unknown_host_in_json(public_app):
    response = public_app.test_client().get("/api/v1/me", base_url="http://evil.example")

    assert response.status_code == 400
    assert response.get_json()["status"] == 400


def test_trusted_hosts_default_to_the_public_host_and_this_machine():
    assert trusted_hosts("", "https://covoit.example.org/app") == [
        "127.0.0.1",
        "covoit.example.org",
        "localhost",
    ]


def test_trusted_hosts_can_be_listed():
    assert trusted_hosts(" Covoit.example.org, .asso.example ,", PUBLIC) == [
        "covoit.example.org",
        ".asso.example",
    ]


@pytest.mark.parametrize("value", ["https://covoit.example.org", "*", "evil example"])
def test_a_malformed_trusted_host_stops_the_start_with_one_sentence(value):
    with pytest.raises(StartupError, match="TRUSTED_HOSTS"):
        trusted_hosts(value, PUBLIC)


@pytest.mark.parametrize("trusted", [None, ["covoit.example.org"]])
def test_a_public_base_url_without_scheme_stops_the_start(db, trusted):
    config = {"DATABASE": db, "PUBLIC_BASE_URL": "covoit.example.org", "TRUSTED_HOSTS": trusted}

    with pytest.raises(StartupError, match="PUBLIC_BASE_URL"):
        create_app(config)


def test_trusted_hosts_from_the_environment_are_the_only_ones_served(db, monkeypatch):
    monkeypatch.setenv("TRUSTED_HOSTS", "covoit.example.org")
    app = create_app({"DATABASE": db})

    assert app.test_client().get("/", base_url="https://covoit.example.org").status_code == 200
    assert app.test_client().get("/").status_code == 400  # localhost: not listed

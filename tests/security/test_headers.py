"""Every response carries the security headers; pages never rely on inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.factories import PASSWORD
from support.seckit import COORD_PREFIX, DRIVER_PREFIX, rules, url_for_rule

from carpool import security

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PUBLIC_PAGES = [
    "/",
    "/conducteurs/connexion",
    "/conducteurs/inscription",
    "/conducteurs/mot-de-passe-oublie",
    "/coordination/connexion",
]
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)


#: A page may be stricter than the default (the reset page, whose URL holds a secret).
STRICTER = {"Referrer-Policy": {"no-referrer"}}


def assert_secure_headers(response) -> None:
    for name, value in security.HEADERS.items():
        sent = response.headers.get(name)
        assert sent == value or sent in STRICTER.get(name, ()), f"{name} on {response.request.path}"


def test_the_policy_forbids_inline_code_and_framing():
    policy = dict(part.split(" ", 1) for part in security.CONTENT_SECURITY_POLICY.split("; "))

    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "https://tile.openstreetmap.org" in policy["img-src"]
    assert policy["connect-src"] == "'self'"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_carry_the_headers(client, association, path):
    response = client.get(path)

    assert response.status_code == 200
    assert_secure_headers(response)


def test_the_drivers_public_pages_may_be_cached_while_nobody_is_logged_in(client):
    assert "no-store" not in client.get("/conducteurs/connexion").headers.get("Cache-Control", "")


def test_the_health_check_and_static_files_carry_them_too(client):
    assert_secure_headers(client.get("/healthz"))
    assert_secure_headers(client.get("/static/map.js"))


def test_a_driver_page_is_never_cached(driver_client):
    response = driver_client.get("/conducteurs/")

    assert response.status_code == 200
    assert_secure_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_coordinator_page_is_never_cached(admin_client):
    response = admin_client.get("/coordination/carte")

    assert response.status_code == 200
    assert_secure_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_api_answers_are_never_cached(client, api_headers):
    response = client.get("/api/v1/me", headers=api_headers)

    assert response.status_code == 200
    assert_secure_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/nulle-part", "/api/v1/nulle-part"])
def test_error_pages_carry_the_headers(client, path):
    response = client.get(path)

    assert response.status_code in {401, 404}
    assert_secure_headers(response)


def test_an_unexpected_error_shows_no_detail_and_carries_the_headers(app, caplog):
    def broken() -> str:
        raise RuntimeError(f"SECRET_KEY={app.config['SECRET_KEY']} leaked")

    app.add_url_rule("/casse", "casse", broken)

    response = app.test_client().get("/casse")

    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Une erreur est survenue" in page
    assert "leaked" not in page and "Traceback" not in page
    assert_secure_headers(response)


def test_hsts_is_sent_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers

    secure = client.get("/", base_url="https://localhost")

    assert secure.headers["Strict-Transport-Security"] == security.HSTS


def test_a_client_cannot_claim_https_without_a_trusted_proxy(client):
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})

    assert "Strict-Transport-Security" not in response.headers


def test_behind_a_trusted_proxy_the_forwarded_scheme_turns_hsts_on(db, clock):
    from carpool import create_app

    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "PROXY_FIX_HOPS": 1})

    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})

    assert response.headers["Strict-Transport-Security"] == security.HSTS


def log_in_through_the_form(client, user):
    return client.post("/conducteurs/connexion", data={"email": user.email, "password": PASSWORD})


def session_cookie_header(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies, "no session cookie set"
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax(client, no_csrf, driver):
    cookie = session_cookie_header(log_in_through_the_form(client, driver))

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_when_configured(app, client, no_csrf, driver):
    app.config["SESSION_COOKIE_SECURE"] = True

    cookie = session_cookie_header(log_in_through_the_form(client, driver))

    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("environ", "secure"),
    [
        ({"PUBLIC_BASE_URL": "https://covoit.example.org"}, True),
        ({"PUBLIC_BASE_URL": "http://127.0.0.1:5000"}, False),
        ({"PUBLIC_BASE_URL": "https://covoit.example.org", "SESSION_COOKIE_SECURE": "false"}, False),
        ({"SESSION_COOKIE_SECURE": "true"}, True),
    ],
)
def test_secure_cookies_follow_the_public_address_unless_set(monkeypatch, tmp_path, environ, secure):
    from carpool.config import load_config

    for name in ("PUBLIC_BASE_URL", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is secure


def template_files() -> list[Path]:
    return sorted(path for path in TEMPLATES.rglob("*") if path.is_file())


def test_templates_have_no_inline_script_handler_or_style():
    offenders = []
    for path in template_files():
        source = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            offenders += [f"{path.relative_to(TEMPLATES)}: {found}" for found in pattern.findall(source)]
    assert offenders == []


def every_page(app, world) -> list[tuple[str, str]]:
    """(role, URL) of every GET page of both areas, with ids of records that exist."""
    pages = [
        ("driver", url_for_rule(app, rule, world.fill(rule.arguments)))
        for rule in rules(app, DRIVER_PREFIX, "GET")
    ]
    pages += [
        ("admin", url_for_rule(app, rule, world.fill(rule.arguments)))
        for rule in rules(app, COORD_PREFIX, "GET")
    ]
    return pages


def test_every_rendered_page_has_the_headers_and_no_inline_code(app, world, driver_client, admin_client):
    clients = {"driver": driver_client, "admin": admin_client}
    offenders, seen = [], 0
    for role, url in every_page(app, world):
        response = clients[role].get(url)
        assert response.status_code < 500, url
        assert_secure_headers(response)
        if response.mimetype != "text/html":
            continue
        seen += 1
        page = response.get_data(as_text=True)
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE_ATTRIBUTE):
            offenders += [f"{url}: {found}" for found in pattern.findall(page)]
    assert seen > 20
    assert offenders == []

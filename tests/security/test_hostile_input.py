"""Hostile input in every form of the drivers' space and the dashboard: never a 500, never
reflected unescaped, never run as a template, never a dropped table; oversize bodies refused.

Forms are found by reading every GET page of both areas (routes from ``app.url_map``), so a
form added later is attacked too. The SMS parser has its own fuzz tests (tests/notify).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.drivers_kit import log_in
from support.factories import PASSWORD
from support.seckit import COORD_PREFIX, DRIVER_PREFIX, Form, forms_of, rules, url_for_rule

from carpool.models import Base, PhoneVerification, Resident, UserAccount

pytestmark = pytest.mark.usefixtures("cheap_passwords")

#: Sent into each field on its own, the others valid: what a service or a column could choke on.
ONE_FIELD = [
    "'; DROP TABLE resident; -- zz{{7*7}}zz {%raw%}${7*7}",
    '<script>alert(1)</script>" onmouseover=alert(1) x="\u202e Zoë \u05e9\u05dc\u05d5\u05dd 👵🏽🚗',
    "x" * 10_000,
]
#: Sent into each phone field on its own.
PHONES = ["+33 (0)6 12 34 56 78", "0033612345678", "06.12.34.56.78", "612345678", "+1 555 0100"]
#: Sent into every field at once: values of the wrong kind everywhere.
EVERY_FIELD = ["avant\x00après", "javascript:alert(1)", "-1"]
HOSTILE = ONE_FIELD + PHONES + EVERY_FIELD
#: What a page must never contain, whatever was sent: the payloads, live.
LIVE = ["<script>alert(1)</script>", '" onmouseover=alert(1)', "zz49zz"]


#: Forms that may end the session they are sent with (log-out, password change).
SESSION_ENDERS = ("/deconnexion", "/compte")


def relog(client, session, user: UserAccount) -> None:
    """Log back in: a form may have logged out or changed the password (voiding the session)."""
    fresh = session.scalars(
        sa.select(UserAccount).where(UserAccount.id == user.id).execution_options(populate_existing=True)
    ).one()
    session.commit()
    log_in(client, fresh)


def discover_forms(app, world, clients) -> list[tuple[str, Form]]:
    """(role, form) of every form on every GET page of both areas, once per action."""
    found: dict[tuple[str, str], tuple[str, Form]] = {}
    for role, prefix in (("driver", DRIVER_PREFIX), ("admin", COORD_PREFIX)):
        for rule in rules(app, prefix, "GET"):
            url = url_for_rule(app, rule, world.fill(rule.arguments))
            response = clients[role].get(url)
            if response.mimetype != "text/html":
                continue
            for form in forms_of(response.get_data(as_text=True), url):
                if form.action.startswith(prefix):
                    found.setdefault((form.method, form.action.split("?")[0]), (role, form))
    return list(found.values())


_serial = iter(range(10_000, 99_999))

#: A valid value per field name (or a maker of unique ones), so a hostile value in ONE field
#: gets past the others' validation and reaches the services and the database.
VALID = {
    "first_name": "Jeanne",
    "last_name": "Delpech",
    "email": lambda: f"hostile{next(_serial)}@example.org",
    "new-email": lambda: f"hostile{next(_serial)}@example.org",
    "phone": lambda: f"06 39 9{next(_serial):05d}"[:14],
    "home_commune": "Figeac",
    "commune": "Cahors",
    "origin": "Figeac",
    "destination": "Cahors",
    "day": "2026-12-03",
    "depart": "09:00",
    "return_time": "17:00",
    "first_day": "2026-12-10",
    "last_day": "2026-12-12",
    "du": "2026-11-01",
    "au": "2026-11-30",
    "mois": "2026-11",
    "seats": "3",
    "flex_min": "15",
    "max_detour_min": "15",
    "radius_km": "20",
    "max_trips_per_week": "3",
    "latitude": "44.45",
    "longitude": "1.44",
    "name": "Pharmacie du Marché",
    "password": "cheval-agrafe-43",
    "password_confirm": "cheval-agrafe-43",
    "current_password": PASSWORD,
}


def valid_value(name: str, default: str) -> str:
    value = VALID.get(name.removeprefix("pw-").removeprefix("totp-"), default)
    return value() if callable(value) else value


def baseline(form: Form) -> dict[str, str]:
    data = {name: valid_value(name, form.defaults.get(name, "")) for name in form.fields}
    data.pop("csrf_token", None)
    return {name: value for name, value in data.items() if value != "" or form.fields[name] != "checkbox"}


def targets(form: Form) -> list[str]:
    """The fields a person types into (and hidden ones such as ``next``)."""
    kinds = {"text", "email", "tel", "search", "textarea", "password", "url", "hidden"}
    return [name for name, kind in form.fields.items() if kind in kinds and name != "csrf_token"]


def submissions(form: Form):  # type: ignore[no-untyped-def]
    """ONE_FIELD payloads (and PHONES in phone fields) one field at a time, then EVERY_FIELD."""
    for name in targets(form):
        is_phone = form.fields[name] == "tel" or "phone" in name or "sms_number" in name
        for text in ONE_FIELD + (PHONES if is_phone else []):
            yield f"{name}={text[:30]!r}", {**baseline(form), name: text}
    for text in EVERY_FIELD:
        data = baseline(form)
        data.update(
            (name, text) for name in form.fields if name in form.text_fields() or name in targets(form)
        )
        yield f"*={text[:30]!r}", data


def problems(response, where: str) -> list[str]:
    """What is wrong with this answer to hostile input (nothing, hopefully)."""
    found = []
    if response.status_code >= 500:
        found.append(f"{response.status_code} on {where}")
    if response.status_code in {301, 302, 303, 307, 308}:
        location = response.headers["Location"]
        if not location.startswith("/") or location.startswith("//"):
            found.append(f"redirect to {location} on {where}")
    body = response.get_data(as_text=True)
    found += [f"{live!r} reflected on {where}" for live in LIVE if live in body]
    if "Traceback" in body:
        found.append(f"traceback shown on {where}")
    return found


def check_page(response, where: str) -> None:
    assert problems(response, where) == []


def check_tables(session) -> None:
    for table in Base.metadata.sorted_tables:
        session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    assert session.scalar(sa.select(sa.func.count()).select_from(Resident)) > 0
    session.commit()


def test_every_form_survives_hostile_text(
    app, no_csrf, world, session, driver, admin, driver_client, admin_client
):
    clients = {"driver": driver_client, "admin": admin_client}
    users = {"driver": driver, "admin": admin}
    forms = discover_forms(app, world, clients)
    failures: list[str] = []
    posted = {form.action.split("?")[0] for _role, form in forms if form.method == "post"}
    assert len(forms) > 20
    forms.sort(key=lambda found: found[1].action.endswith(SESSION_ENDERS))  # those last

    for role, form in forms:
        for what, data in submissions(form):
            if form.action.endswith(SESSION_ENDERS):
                relog(clients[role], session, users[role])
            where = f"{form.method.upper()} {form.action} ← {what}"
            if form.method == "post":
                response = clients[role].post(form.action, data=data)
            else:
                response = clients[role].get(form.action, query_string=data)
            failures += problems(response, where)
    check_tables(session)
    assert failures == []
    assert posted, "no POST form found"


def test_every_post_route_answers_hostile_text_without_error(
    app, no_csrf, world, session, driver, admin, driver_client, admin_client
):
    """Routes whose form was not on a page (or no longer is): posted with guessed field names."""
    clients = {"driver": driver_client, "admin": admin_client}
    users = {"driver": driver, "admin": admin}
    failures: list[str] = []
    guessed = ["name", "reason", "comment", "message", "body", "q", "phone", "email", "note", "code"]
    for role, prefix in (("driver", DRIVER_PREFIX), ("admin", COORD_PREFIX)):
        for rule in sorted(rules(app, prefix, "POST"), key=lambda rule: rule.rule.endswith(SESSION_ENDERS)):
            url = url_for_rule(app, rule, world.fill(rule.arguments))
            for text in ONE_FIELD + EVERY_FIELD[:1]:
                if url.endswith(SESSION_ENDERS):
                    relog(clients[role], session, users[role])
                response = clients[role].post(url, data=dict.fromkeys(guessed, text))
                failures += problems(response, f"POST {url}")
    check_tables(session)
    assert failures == []


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)


def test_the_sign_up_form_takes_any_text(app, no_csrf, db, association, clock):
    """Each step: the phone (a code is asked), the code, then the form with a proven phone."""
    client = app.test_client()
    phones = iter(range(10_000, 99_999))
    names = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "home_commune",
        "seats",
        "password",
        "password_confirm",
    ]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.fixed_dictionaries(dict.fromkeys(names, TEXT)), st.sampled_from(["oui", "non", "", "peut-être"])
    )
    def sign_up(fields: dict[str, str], wheelchair: str) -> None:
        data = {**fields, "wheelchair_accessible": wheelchair, "association_id": str(association.id)}
        with client.session_transaction() as cookie:
            cookie.clear()
        check_page(client.post("/conducteurs/inscription/numero", data={"phone": fields["phone"]}), "numero")
        check_page(client.post("/conducteurs/inscription/code", data={"code": fields["seats"]}), "code")
        with db.session() as session:  # a phone already proven, so that the last step reads every field
            number = next(phones)
            proof = PhoneVerification(
                phone=f"+3363{number:07d}", code_hash="-", expires_at=clock.now(), verified_at=clock.now()
            )
            session.add(proof)
            session.flush()
            proof_id = proof.id
        with client.session_transaction() as cookie:
            cookie["signup_phone_proof"] = proof_id
        check_page(client.post("/conducteurs/inscription", data=data), "inscription")

    sign_up()


def test_the_offer_form_takes_any_text(app, no_csrf, session, driver):
    client = app.test_client()
    names = ["origin", "destination", "day", "depart", "flex_min", "seats", "max_detour_min", "comment"]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.fixed_dictionaries(dict.fromkeys(names, TEXT)),
        st.fixed_dictionaries(
            {
                "return_trip": st.sampled_from(["", "y"]),
                "return_time": TEXT,
                "repeat": st.sampled_from(["", "y"]),
            }
        ),
        st.lists(st.sampled_from(["0", "3", "6", "9", "x"]), max_size=3),
        TEXT,
    )
    def offer(fields: dict[str, str], extra: dict[str, str], days: list[str], until: str) -> None:
        relog(client, session, driver)
        data = {**fields, **{k: v for k, v in extra.items() if v}, "repeat_days": days, "repeat_until": until}
        check_page(client.post("/conducteurs/trajets/nouveau", data=data), "trajets/nouveau")

    offer()


OVERSIZE = 1024 * 1024 + 1


def test_an_oversize_form_is_refused_in_french(app, driver_client, no_csrf):
    response = driver_client.post("/conducteurs/trajets/nouveau", data={"comment": "x" * OVERSIZE})

    assert response.status_code == 413
    assert "Le contenu envoyé est trop volumineux." in response.get_data(as_text=True)


def test_an_oversize_sign_up_is_refused_before_anything_is_read(client, association):
    response = client.post("/conducteurs/inscription", data={"first_name": "x" * OVERSIZE})

    assert response.status_code == 413


def test_an_oversize_api_body_gets_a_json_413(client, api_headers):
    body = json.dumps(
        {"origin": "x" * OVERSIZE, "destination": "Cahors", "date": "2026-12-01", "time": "08:00"}
    )

    response = client.post(
        "/api/v1/offers", data=body, headers={**api_headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.get_json() == {"error": "Le contenu envoyé est trop volumineux.", "status": 413}


def test_an_oversize_sms_webhook_is_refused(client):
    response = client.post(
        "/sms/inbound", data={"MessageSid": "SM1", "From": "+33639981234", "Body": "x" * OVERSIZE}
    )

    assert response.status_code == 413


@pytest.mark.parametrize("text", HOSTILE)
def test_the_api_takes_hostile_text_in_every_field(client, api_headers, session, text):
    offer = {"origin": text, "destination": text, "date": "2026-12-01", "time": "08:00", "comment": text}

    response = client.post("/api/v1/offers", json=offer, headers=api_headers)

    assert response.status_code in {201, 400, 422}  # 400: a NUL character
    assert response.is_json


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/conducteurs/trajets/nouveau", "form"),
        ("/conducteurs/mot-de-passe/a%00b", "path"),
        ("/api/v1/offers", "json"),
    ],
)
def test_a_nul_character_is_refused_with_a_400(driver_client, no_csrf, api_headers, path, kind):
    if kind == "json":
        response = driver_client.post(
            path, json={"origin": "a\x00b", "destination": "Cahors"}, headers=api_headers
        )
    elif kind == "form":
        response = driver_client.post(path, data={"origin": "a\x00b"})
    else:
        response = driver_client.get(path)

    assert response.status_code == 400


@pytest.mark.parametrize("record_id", [2**31, 10**20])
def test_an_id_too_large_for_the_database_is_a_404(admin_client, client, api_headers, record_id):
    assert admin_client.get(f"/coordination/habitants/{record_id}").status_code == 404
    assert client.get(f"/api/v1/offers/{record_id}", headers=api_headers).status_code == 404

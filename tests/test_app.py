"""The landing page, the health check and error pages as a visitor sees them."""

from __future__ import annotations

from support.factories import add_association


def test_landing_page_tells_residents_which_number_to_text(client, session):
    add_association(session, "Lot Mobilité Solidaire", sms_number="06 39 98 12 34")
    session.commit()

    page = client.get("/").get_data(as_text=True)

    assert "06 39 98 12 34" in page
    assert "Demander un trajet par SMS" in page
    assert "Lot Mobilité Solidaire" in page
    assert 'lang="fr"' in page


def test_with_two_associations_the_landing_page_gives_each_ones_number(client, session):
    add_association(session, "Lot Mobilité Solidaire", sms_number="06 39 98 12 34")
    add_association(session, "Entraide Argenteuil", sms_number="06 39 98 00 95")
    session.commit()

    page = client.get("/").get_data(as_text=True)

    assert 'Lot Mobilité Solidaire : <strong class="phone">06 39 98 12 34</strong>' in page
    assert 'Entraide Argenteuil : <strong class="phone">06 39 98 00 95</strong>' in page


def test_landing_page_credits_the_gazetteer_producers(client):
    page = client.get("/").get_data(as_text=True)

    assert "Licence Ouverte 2.0" in page
    assert "INSEE" in page


def test_landing_page_links_only_to_pages_that_exist(client, app):
    page = client.get("/").get_data(as_text=True)

    for href in {part.split('"')[0] for part in page.split('href="')[1:]}:
        if href.startswith("/"):
            assert client.get(href).status_code == 200, href


def test_healthz_reports_ok_with_the_backend_and_the_gazetteer(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == db.dialect
    assert response.json["communes"] == 495


def test_healthz_reports_503_when_the_database_is_gone(app, client, db, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr("sqlalchemy.orm.Session.scalar", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "unreachable"}


def test_unknown_page_is_a_french_404(client):
    response = client.get("/nulle-part")

    assert response.status_code == 404
    assert "Cette page n&#39;existe pas." in response.get_data(as_text=True)


def test_a_crash_shows_a_polite_page_without_traceback(app):
    @app.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)

    assert response.status_code == 500
    assert "Une erreur est survenue" in body
    assert "Traceback" not in body
    assert "secret internal detail" not in body


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json["status"] == 404


def test_logs_never_show_a_phone_number_in_clear(db, clock):
    import io
    import logging

    from carpool import create_app

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock})
        app.logger.warning("échec d'envoi au +33639981234 (06 39 98 12 34)")
    finally:
        logging.getLogger().removeHandler(handler)

    assert "39981234" not in stream.getvalue()
    assert "98 12 34" not in stream.getvalue()
    assert "échec d'envoi" in stream.getvalue()

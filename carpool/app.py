"""The application factory, made of small ``register_*`` steps."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from carpool import extensions
from carpool.clock import Clock
from carpool.config import Settings, load_config, trusted_hosts
from carpool.db import Database, check_database, first_line
from carpool.field_encryption import SecretBox
from carpool.security import register_security

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the web app; raises ``StartupError`` with one clear sentence when it cannot start."""
    settings = Settings.from_env()  # every setting checked before anything starts
    instance = settings.instance_path()
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config(instance, settings))
    if test_config:
        app.config.from_mapping(test_config)
    register_logging(app)
    register_trusted_hosts(app)
    register_proxy_fix(app)
    register_database(app)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    return app


def register_logging(app: Flask) -> None:
    """Plain logs on stderr, with every phone number masked whoever logs it."""
    from carpool.notify import privacy

    logging.basicConfig(
        level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    privacy.install()
    privacy.install(app.logger)


def register_trusted_hosts(app: Flask) -> None:
    """Serve only the names in TRUSTED_HOSTS (Flask checks each request's host against them)."""
    app.config["TRUSTED_HOSTS"] = trusted_hosts(
        ",".join(app.config.get("TRUSTED_HOSTS") or ()), str(app.config["PUBLIC_BASE_URL"])
    )


def register_proxy_fix(app: Flask) -> None:
    """Behind a reverse proxy, trust its X-Forwarded-* headers so URLs (and Twilio signatures) match."""
    hops = app.config["PROXY_FIX_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]


def register_database(app: Flask) -> None:
    database = app.config.get("DATABASE") or Database(app.config["DATABASE_URL"])
    app.config["SPATIAL_VERSION"] = check_database(database.engine)
    app.extensions["carpool.db"] = database
    app.extensions["carpool.clock"] = app.config.get("CLOCK") or Clock()
    # Opens and seals second-factor keys (SECRET_KEY and FIELD_ENCRYPTION_KEYS as finally set).
    app.extensions["carpool.secret_box"] = SecretBox.from_config(app.config)
    app.teardown_appcontext(extensions.close_db_session)


def register_extensions(app: Flask) -> None:
    extensions.csrf.init_app(app)


def register_blueprints(app: Flask) -> None:
    from carpool.web import api, coordinators, drivers, public, sms, voice

    app.register_blueprint(public.bp)
    sms.init_app(app)
    # Twilio signs its webhooks: no CSRF token, the signature check instead (carpool/web/webhooks.py).
    extensions.csrf.exempt(voice.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(drivers.bp)
    app.register_blueprint(coordinators.bp)
    api.init_app(app)


def _wants_json() -> bool:
    return (
        request.path.startswith(("/api/", "/healthz")) or request.accept_mimetypes.best == "application/json"
    )


MESSAGES = {
    400: "La demande n'a pas pu être comprise.",
    403: "Vous n'avez pas accès à cette page.",
    404: "Cette page n'existe pas.",
    405: "Cette action n'est pas possible ici.",
    413: "Le contenu envoyé est trop volumineux.",
    429: "Trop de tentatives : merci de patienter quelques minutes.",
    500: "Une erreur est survenue de notre côté. Réessayez dans un instant.",
    503: (
        "Le service est momentanément indisponible. Réessayez dans quelques minutes ; "
        "si vous veniez d'envoyer un formulaire, vérifiez ensuite qu'il a bien été enregistré."
    ),
}


UNKNOWN_HOST = "Adresse de site inconnue : utilisez l'adresse publique du service."


def register_errorhandlers(app: Flask) -> None:
    def render_error(code: int, message: str) -> tuple[Any, int]:
        if _wants_json():
            return jsonify(error=message, status=code), code
        return render_template("public/error.html", code=code, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[Any, int]:
        return render_error(400, "Le formulaire a expiré : rechargez la page et recommencez.")

    @app.errorhandler(SecurityError)
    def unknown_host(_error: SecurityError) -> Any:
        # A Host (or X-Forwarded-Host) outside TRUSTED_HOSTS. No page: URLs cannot be built
        # for a request with no trusted host, and there is nobody to help but a prober.
        if _wants_json():
            return jsonify(error=UNKNOWN_HOST, status=400), 400
        return Response(UNKNOWN_HOST + "\n", status=400, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, int]:
        code = error.code or 500
        return render_error(code, MESSAGES.get(code, error.description or MESSAGES[400]))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_unavailable(error: OperationalError | InterfaceError) -> tuple[Any, int, dict[str, str]]:
        # Restarting, unreachable, read-only or full: the person can only wait, and the
        # transaction was rolled back. One log line each, not a traceback storm.
        app.logger.error("database unavailable on %s %s: %s", request.method, request.path, first_line(error))
        return (*render_error(503, MESSAGES[503]), {"Retry-After": "60"})

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[Any, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500, MESSAGES[500])


def register_template_helpers(app: Flask) -> None:
    """Filters and globals every blueprint's templates may use, whichever blueprints are on."""
    from carpool.gazetteer import ATTRIBUTION
    from carpool.web.filters import register_filters

    @app.context_processor
    def inject() -> dict[str, Any]:
        return {
            "data_attribution": ATTRIBUTION,
            "has_endpoint": lambda name: name in app.view_functions,
        }

    register_filters(app)

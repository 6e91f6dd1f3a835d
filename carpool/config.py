"""Settings: read from the environment once, checked at start-up, then passed around.

``Settings.from_env()`` is the only reader of the environment; every process
(web, ``carpool scheduler``, ``carpool dispatch``, other commands) builds it first,
so a bad value stops the start with one French sentence naming the variable
instead of failing later, or silently. Jobs and services receive values from it.
Every setting is documented in the README's configuration table; keep both in step.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carpool.errors import StartupError
from carpool.field_encryption import parse_keys

TIMEZONE = "Europe/Paris"
TWILIO_API = "https://api.twilio.com"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
SMS_BACKENDS = ("console", "twilio")

_TRUE = {"1", "true", "yes", "oui", "on"}
_FALSE = {"0", "false", "no", "non", "off"}


@dataclass(frozen=True)
class Settings:
    """Every setting, typed; field names are the variables' names in lower case.

    ``Settings()`` is the default configuration (what an empty environment gives).
    """

    carpool_instance_path: str = ""  # empty: ./instance
    database_url: str = ""  # empty: SQLite in the instance folder
    secret_key: str = field(default="", repr=False)  # empty: generated once into the instance folder
    # Keys sealing second-factor secrets (first encrypts, all decrypt); empty: derived from SECRET_KEY.
    field_encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    sms_backend: str = "console"
    sms_public_number: str = ""
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base_url: str = TWILIO_API
    sms_timeout_seconds: float = 10.0
    sms_lease_seconds: float = 60.0
    sms_batch: int = 20
    sms_poll_seconds: float = 2.0
    trusted_hosts: tuple[str, ...] = ()  # empty: derived from PUBLIC_BASE_URL (see trusted_hosts)
    proxy_fix_hops: int = 0
    session_cookie_secure: bool | None = None  # None: secure when PUBLIC_BASE_URL is https
    log_level: str = "INFO"
    password_reset_ttl_min: int = 30
    api_token_ttl_days: int = 90
    # Against SMS pumping: replies per hour to one number and in all (see services/sms_inbound.py).
    sms_reply_budget_per_number: int = 10
    sms_reply_budget_global: int = 300
    # Calls to the association's number from one caller in an hour (see services/voice_line.py).
    voice_calls_per_number_hour: int = 5
    # Phone calls (services/voice.py): caller id, budgets per hour, the wait before calling again.
    voice_from: str = ""  # for associations without a line; empty: TWILIO_FROM
    voice_budget_per_number: int = 4
    voice_budget_global: int = 60
    voice_retry_minutes: int = 20
    proposal_timeout_hours: float = 12.0
    audit_retention_days: int = 365
    scheduler_tick_seconds: float = 60.0  # how often due work is looked for
    scheduler_dispatch_seconds: float = 5.0  # 0 leaves the outbox to `carpool dispatch`
    scheduler_lease_seconds: float = 30.0  # SQLite: a dead leader is replaced after this long
    series_weeks_ahead: int = 4  # how far ahead a resident's series becomes requests
    series_propose_days: int = 7  # occurrences this close are proposed to the resident by SMS (0: never)
    reoptimise_at: str = "07:30"  # Paris time of the daily joint matching of open requests ("off": never)
    reoptimise_days: int = 2  # how many days ahead the re-optimisation looks
    carpool_clock_file: str = ""  # tests only: a simulated "now" (see clock.FileClock)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every setting; a StartupError sentence naming the first bad one."""
        env = _Reader(os.environ if environ is None else environ)
        public_base_url = env.text("PUBLIC_BASE_URL", cls.public_base_url)
        public_host(public_base_url)
        return cls(
            carpool_instance_path=env.text("CARPOOL_INSTANCE_PATH", cls.carpool_instance_path),
            database_url=env.text("DATABASE_URL", cls.database_url),
            secret_key=env.environ.get("SECRET_KEY") or "",  # as given: it signs the sessions
            field_encryption_keys=parse_keys(env.environ.get("FIELD_ENCRYPTION_KEYS", "")),
            sms_backend=sms_backend(env.text("SMS_BACKEND", cls.sms_backend)),
            sms_public_number=env.text("SMS_PUBLIC_NUMBER", cls.sms_public_number),
            public_base_url=public_base_url,
            twilio_account_sid=env.text("TWILIO_ACCOUNT_SID", cls.twilio_account_sid),
            twilio_auth_token=env.text("TWILIO_AUTH_TOKEN", cls.twilio_auth_token),
            twilio_from=env.text("TWILIO_FROM", cls.twilio_from),
            twilio_messaging_service_sid=env.text(
                "TWILIO_MESSAGING_SERVICE_SID", cls.twilio_messaging_service_sid
            ),
            twilio_api_base_url=env.text("TWILIO_API_BASE_URL", cls.twilio_api_base_url),
            sms_timeout_seconds=env.seconds("SMS_TIMEOUT_SECONDS", cls.sms_timeout_seconds),
            sms_lease_seconds=env.seconds("SMS_LEASE_SECONDS", cls.sms_lease_seconds),
            sms_batch=env.integer("SMS_BATCH", cls.sms_batch, 1),
            sms_poll_seconds=env.seconds("SMS_POLL_SECONDS", cls.sms_poll_seconds),
            trusted_hosts=tuple(listed_hosts(env.text("TRUSTED_HOSTS", ""))),
            proxy_fix_hops=env.integer("PROXY_FIX_HOPS", cls.proxy_fix_hops, 0),
            session_cookie_secure=env.boolean("SESSION_COOKIE_SECURE"),
            log_level=log_level(env.text("LOG_LEVEL", cls.log_level)),
            password_reset_ttl_min=env.integer("PASSWORD_RESET_TTL_MIN", cls.password_reset_ttl_min, 1),
            api_token_ttl_days=env.integer("API_TOKEN_TTL_DAYS", cls.api_token_ttl_days, 1, 3650),
            voice_calls_per_number_hour=env.integer(
                "VOICE_CALLS_PER_NUMBER_HOUR", cls.voice_calls_per_number_hour, 1
            ),
            sms_reply_budget_per_number=env.integer(
                "SMS_REPLY_BUDGET_PER_NUMBER", cls.sms_reply_budget_per_number, 0
            ),
            sms_reply_budget_global=env.integer("SMS_REPLY_BUDGET_GLOBAL", cls.sms_reply_budget_global, 0),
            voice_from=env.text("VOICE_FROM", cls.voice_from),
            voice_budget_per_number=env.integer("VOICE_BUDGET_PER_NUMBER", cls.voice_budget_per_number, 0),
            voice_budget_global=env.integer("VOICE_BUDGET_GLOBAL", cls.voice_budget_global, 0),
            voice_retry_minutes=env.integer("VOICE_RETRY_MINUTES", cls.voice_retry_minutes, 1, 240),
            proposal_timeout_hours=env.number(
                "PROPOSAL_TIMEOUT_HOURS", cls.proposal_timeout_hours, "un nombre d'heures positif"
            ),
            audit_retention_days=env.integer("AUDIT_RETENTION_DAYS", cls.audit_retention_days, 1),
            scheduler_tick_seconds=env.seconds("SCHEDULER_TICK_SECONDS", cls.scheduler_tick_seconds),
            scheduler_dispatch_seconds=env.seconds(
                "SCHEDULER_DISPATCH_SECONDS", cls.scheduler_dispatch_seconds, zero=True
            ),
            scheduler_lease_seconds=env.seconds("SCHEDULER_LEASE_SECONDS", cls.scheduler_lease_seconds),
            series_weeks_ahead=env.integer("SERIES_WEEKS_AHEAD", cls.series_weeks_ahead, 1, 26),
            series_propose_days=env.integer("SERIES_PROPOSE_DAYS", cls.series_propose_days, 0, 28),
            reoptimise_at=env.clock_time("REOPTIMISE_AT", cls.reoptimise_at),
            reoptimise_days=env.integer("REOPTIMISE_DAYS", cls.reoptimise_days, 1, 14),
            carpool_clock_file=env.text("CARPOOL_CLOCK_FILE", cls.carpool_clock_file),
        )

    def instance_path(self) -> Path:
        """Where local state lives (SQLite file, generated secret key); created if missing."""
        path = Path(self.carpool_instance_path or Path.cwd() / "instance").resolve()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"CARPOOL_INSTANCE_PATH doit désigner un dossier utilisable ({path} : {exc.strerror})."
            ) from None
        return path

    def as_config(self) -> dict[str, Any]:
        """Every setting under its variable's name, as the app's config holds it."""
        return {setting.name.upper(): getattr(self, setting.name) for setting in fields(self)}

    def flask_config(self, instance: Path) -> dict[str, Any]:
        """The Flask config mapping: every setting, with defaults resolved, plus fixed ones."""
        config = self.as_config()
        secure = self.session_cookie_secure
        if secure is None:
            secure = self.public_base_url.startswith("https://")
        return {
            **config,
            "DATABASE_URL": self.database_url or default_database_url(instance),
            "SECRET_KEY": self.secret_key or _generated_secret_key(instance),
            "TIMEZONE": TIMEZONE,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
            # None: derived from the final PUBLIC_BASE_URL by create_app (see trusted_hosts).
            "TRUSTED_HOSTS": list(self.trusted_hosts) or None,
        }


class _Reader:
    """Reads one variable at a time and turns a bad value into a sentence naming it."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def text(self, name: str, default: str) -> str:
        return self.environ.get(name, "").strip() or default

    def integer(self, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        value = self.environ.get(name, "").strip()
        if not value:
            return default
        if not value.isdigit():
            raise StartupError(f"{name} doit être un nombre entier (reçu : {value!r}).")
        number = int(value)
        if number < minimum or (maximum is not None and number > maximum):
            limits = f"entre {minimum} et {maximum}" if maximum is not None else f"au moins {minimum}"
            raise StartupError(f"{name} doit valoir {limits} (reçu : {value!r}).")
        return number

    def number(self, name: str, default: float, kind: str, *, zero: bool = False) -> float:
        value = self.environ.get(name, "").strip()
        return positive_number(name, value, kind, zero=zero) if value else default

    def seconds(self, name: str, default: float, *, zero: bool = False) -> float:
        kind = "un nombre de secondes positif ou nul" if zero else "un nombre de secondes positif"
        return self.number(name, default, kind, zero=zero)

    def clock_time(self, name: str, default: str) -> str:
        """ "HH:MM" (a time of day, Europe/Paris) or "off"."""
        value = self.text(name, default).lower()
        if value == "off":
            return value
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise StartupError(f"{name} doit être une heure HH:MM ou « off » (reçu : {value!r}).")
        return f"{int(hours):02d}:{int(minutes):02d}"

    def boolean(self, name: str) -> bool | None:
        value = self.environ.get(name, "").strip().lower()
        if not value:
            return None
        if value not in _TRUE | _FALSE:
            raise StartupError(f"{name} doit valoir « true » ou « false » (reçu : {value!r}).")
        return value in _TRUE


def positive_number(name: str, value: Any, kind: str = "un nombre positif", *, zero: bool = False) -> float:
    """``value`` as a number > 0 (≥ 0 with ``zero``), or a StartupError sentence naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number >= 0 if zero else number > 0) or number == float("inf"):
        raise StartupError(f"{name} doit être {kind} (reçu : {value!r}).")
    return number


def sms_backend(value: str) -> str:
    """The SMS_BACKEND name, checked (the only place that knows the list)."""
    name = value.strip().lower()
    if name not in SMS_BACKENDS:
        raise StartupError(f"SMS_BACKEND doit valoir « console » ou « twilio » (reçu : {name!r}).")
    return name


def log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise StartupError(
            f"LOG_LEVEL doit valoir DEBUG, INFO, WARNING, ERROR ou CRITICAL (reçu : {value!r})."
        )
    return level


def default_database_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'carpool.db'}"


SECRET_KEY_FILE = "secret_key"  # noqa: S105 - the file's name, not a secret


def has_known_secret_key(settings: Settings, instance: Path) -> bool:
    """True when SECRET_KEY (or FIELD_ENCRYPTION_KEYS) is set, or was generated here before: a
    command may then seal secrets the web app can open. A fresh instance folder on another
    machine (a release step) would only generate a key of its own."""
    return bool(
        settings.secret_key or settings.field_encryption_keys or (instance / SECRET_KEY_FILE).exists()
    )


def _generated_secret_key(instance: Path) -> str:
    """Without SECRET_KEY, generate one once and keep it in instance/."""
    key_file = instance / SECRET_KEY_FILE
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip()


#: Always trusted: ``make run``, the tests and a proxy on the same machine talk to these names.
LOCAL_HOSTS = ("127.0.0.1", "localhost")
#: A host name as TRUSTED_HOSTS takes it (a leading dot accepts every subdomain).
_HOST_NAME = re.compile(r"\.?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?")


def public_host(public_base_url: str) -> str:
    """The host of PUBLIC_BASE_URL; a StartupError sentence when it is not an http(s) address."""
    parts = urlsplit(public_base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise StartupError(
            f"PUBLIC_BASE_URL doit être une adresse complète comme https://covoiturage.exemple.fr "
            f"(reçu : {public_base_url!r})."
        )
    return parts.hostname


def trusted_hosts(value: str, public_base_url: str) -> list[str]:
    """The Host names the web app answers to: TRUSTED_HOSTS (comma-separated) if set, else
    the host of PUBLIC_BASE_URL and this machine's own names.

    Any other Host header (or X-Forwarded-Host behind PROXY_FIX_HOPS proxies) is refused
    with a 400: nothing the app does can then depend on a name a client made up.
    """
    default = sorted({public_host(public_base_url), *LOCAL_HOSTS})  # checks PUBLIC_BASE_URL too
    return listed_hosts(value) or default


def listed_hosts(value: str) -> list[str]:
    """TRUSTED_HOSTS as a list (empty when unset); a StartupError sentence for a malformed name."""
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    for name in names:
        if not _HOST_NAME.fullmatch(name):
            raise StartupError(
                "TRUSTED_HOSTS attend des noms de domaine séparés par des virgules, sans https:// "
                f"(reçu : {name!r})."
            )
    return names


def load_config(instance: Path, settings: Settings | None = None) -> dict[str, Any]:
    """The Flask config mapping for ``settings`` (read from the environment if not given)."""
    return (settings or Settings.from_env()).flask_config(instance)

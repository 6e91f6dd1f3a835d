"""Settings read from environment variables, with safe defaults.

Every setting is documented in the README's configuration table; keep both in step.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carpool.errors import StartupError

TIMEZONE = "Europe/Paris"


def instance_path() -> Path:
    """Where local state lives (SQLite file, generated secret key)."""
    path = Path(os.environ.get("CARPOOL_INSTANCE_PATH", Path.cwd() / "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'carpool.db'}"


def _secret_key(instance: Path) -> str:
    """Use SECRET_KEY if set; otherwise generate one once and keep it in instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "oui", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise StartupError(f"{name} doit être un nombre entier (reçu : {value!r}).")
    return int(value)


def _api_token_ttl_days() -> int:
    days = _int("API_TOKEN_TTL_DAYS", 90)
    if not 1 <= days <= 3650:
        raise StartupError(f"API_TOKEN_TTL_DAYS doit être entre 1 et 3650 jours (reçu : {days}).")
    return days


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


def load_config(instance: Path) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    from carpool.notify.backends import sms_settings

    backend = os.environ.get("SMS_BACKEND", "console").strip().lower()
    if backend not in {"console", "twilio"}:
        raise StartupError(f"SMS_BACKEND doit valoir « console » ou « twilio » (reçu : {backend!r}).")
    sms = sms_settings()  # Twilio and dispatcher settings: see carpool/notify/backends.py
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_database_url(instance),
        "SECRET_KEY": _secret_key(instance),
        "SMS_BACKEND": backend,
        "SMS_PUBLIC_NUMBER": os.environ.get("SMS_PUBLIC_NUMBER", ""),
        "TIMEZONE": TIMEZONE,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Unset: secure cookies whenever the public address is HTTPS.
        "SESSION_COOKIE_SECURE": _bool(
            "SESSION_COOKIE_SECURE", os.environ.get("PUBLIC_BASE_URL", "").strip().startswith("https://")
        ),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO").upper(),
        "PROXY_FIX_HOPS": _int("PROXY_FIX_HOPS", 0),
        **sms,
        # None: derived from the final PUBLIC_BASE_URL by create_app (see trusted_hosts).
        "TRUSTED_HOSTS": listed_hosts(os.environ.get("TRUSTED_HOSTS", "")) or None,
        "PASSWORD_RESET_TTL_MIN": int(os.environ.get("PASSWORD_RESET_TTL_MIN", "30") or 30),
        "API_TOKEN_TTL_DAYS": _api_token_ttl_days(),
        # Against SMS pumping: replies per hour to one number and in all (see services/sms_inbound.py).
        "SMS_REPLY_BUDGET_PER_NUMBER": _int("SMS_REPLY_BUDGET_PER_NUMBER", 10),
        "SMS_REPLY_BUDGET_GLOBAL": _int("SMS_REPLY_BUDGET_GLOBAL", 300),
    }

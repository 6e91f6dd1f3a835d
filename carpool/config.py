"""Settings read from environment variables, with safe defaults.

Every setting is documented in the README's configuration table; keep both in step.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

TIMEZONE = "Europe/Paris"


class StartupError(RuntimeError):
    """A problem a person must fix before the app can start: one clear French sentence."""


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


def load_config(instance: Path) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    from carpool.notify.backends import sms_settings

    backend = os.environ.get("SMS_BACKEND", "console").strip().lower()
    if backend not in {"console", "twilio"}:
        raise StartupError(f"SMS_BACKEND doit valoir « console » ou « twilio » (reçu : {backend!r}).")
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
        **sms_settings(),  # Twilio and dispatcher settings: see carpool/notify/backends.py
        "PASSWORD_RESET_TTL_MIN": int(os.environ.get("PASSWORD_RESET_TTL_MIN", "30") or 30),
        "API_TOKEN_TTL_DAYS": _api_token_ttl_days(),
        # Against SMS pumping: replies per hour to one number and in all (see services/sms_inbound.py).
        "SMS_REPLY_BUDGET_PER_NUMBER": _int("SMS_REPLY_BUDGET_PER_NUMBER", 10),
        "SMS_REPLY_BUDGET_GLOBAL": _int("SMS_REPLY_BUDGET_GLOBAL", 300),
    }

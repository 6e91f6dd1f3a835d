"""Start-up problems end in one clear sentence, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from carpool.config import load_config
from carpool.db import Database, check_database
from carpool.errors import StartupError

CARPOOL = str(Path(sys.executable).with_name("carpool"))


def run_carpool(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CARPOOL, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60, check=False
    )


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", ("DATABASE_URL", "valide")),
        ("mysql://root@localhost/carpool", ("sqlite:///", "postgresql://")),
        ("sqlite://", ("fichier",)),
        ("postgresql://postgres@127.0.0.1:1/carpool", ("Impossible d'ouvrir", "vérifiez DATABASE_URL")),
    ],
)
def test_a_wrong_database_url_stops_with_one_sentence(url, words):
    assert_one_clear_line(run_carpool("db", "current", DATABASE_URL=url), *words)


def test_a_missing_spatialite_says_what_to_install(tmp_path):
    result = run_carpool(
        "db", "current", DATABASE_URL=f"sqlite:///{tmp_path}/x.db", SPATIALITE_LIBRARY_PATH="/nonexistent/mod"
    )

    assert_one_clear_line(result, "SpatiaLite", "apt-get install libsqlite3-mod-spatialite")


def test_the_web_app_refuses_to_start_without_spatialite(tmp_path, monkeypatch):
    from carpool import create_app

    monkeypatch.setenv("SPATIALITE_LIBRARY_PATH", "/nonexistent/mod")
    with pytest.raises(StartupError, match="libsqlite3-mod-spatialite"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.db"})


@pytest.mark.postgresql
def test_a_postgresql_without_postgis_is_named(fresh_database_url):
    database = Database(fresh_database_url)
    try:
        with pytest.raises(StartupError, match="CREATE EXTENSION postgis"):
            check_database(database.engine)
    finally:
        database.dispose()


@pytest.mark.postgresql
def test_db_upgrade_enables_postgis_itself(fresh_database_url):
    result = run_carpool("db", "upgrade", DATABASE_URL=fresh_database_url)

    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(fresh_database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT postgis_lib_version()")).scalar()
    engine.dispose()


def test_gunicorn_entry_point_exits_with_one_sentence(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import carpool.wsgi"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": "oracle://nope"},
        timeout=60,
        check=False,
    )

    assert_one_clear_line(result, "DATABASE_URL")


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    first = load_config(tmp_path)["SECRET_KEY"]
    second = load_config(tmp_path)["SECRET_KEY"]

    assert first == second
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_an_unknown_sms_backend_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SMS_BACKEND", "pigeon")

    with pytest.raises(StartupError, match="SMS_BACKEND"):
        load_config(tmp_path)


def test_the_web_app_refuses_real_sms_without_a_webhook_token(db):
    from carpool import create_app

    config = {"DATABASE": db, "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": ""}
    with pytest.raises(StartupError, match="SMS_BACKEND=twilio demande aussi TWILIO_AUTH_TOKEN"):
        create_app(config)


def test_gunicorn_refuses_real_sms_without_a_webhook_token_in_one_sentence(database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_FROM": "+33639980000",
        "TWILIO_AUTH_TOKEN": "",
    }
    result = _import_wsgi(env)

    assert_one_clear_line(result, "TWILIO_AUTH_TOKEN", "webhooks")


def test_the_console_backend_still_starts_without_a_token(db):
    from carpool import create_app

    app = create_app({"DATABASE": db, "SMS_BACKEND": "console", "TWILIO_AUTH_TOKEN": ""})

    assert "sms.inbound" in app.view_functions


#: One wrong value per setting that has a form: each must stop every process at start-up.
BAD_SETTINGS = {
    "CARPOOL_INSTANCE_PATH": "/dev/null/instance",
    "SMS_BACKEND": "pigeon",
    "PUBLIC_BASE_URL": "covoit.example.org",
    "SMS_TIMEOUT_SECONDS": "dix",
    "SMS_LEASE_SECONDS": "-1",
    "SMS_BATCH": "0",
    "SMS_POLL_SECONDS": "inf",
    "TRUSTED_HOSTS": "https://covoit.example.org",
    "PROXY_FIX_HOPS": "un",
    "SESSION_COOKIE_SECURE": "peut-être",
    "LOG_LEVEL": "BAVARD",
    "PASSWORD_RESET_TTL_MIN": "abc",
    "API_TOKEN_TTL_DAYS": "9999",
    "SMS_REPLY_BUDGET_PER_NUMBER": "-3",
    "SMS_REPLY_BUDGET_GLOBAL": "beaucoup",
    "PROPOSAL_TIMEOUT_HOURS": "douze",
    "AUDIT_RETENTION_DAYS": "un an",
    "SCHEDULER_TICK_SECONDS": "0",
    "SCHEDULER_DISPATCH_SECONDS": "-5",
    "SCHEDULER_LEASE_SECONDS": "nan",
}


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS.items())
def test_a_bad_setting_stops_the_scheduler_with_one_sentence_naming_it(tmp_path, name, value):
    env = {"CARPOOL_INSTANCE_PATH": str(tmp_path), name: value}

    assert_one_clear_line(run_carpool("scheduler", "--once", **env), "erreur : ", name)


@pytest.mark.parametrize(
    "command",
    [
        ("serve",),
        ("scheduler",),
        ("dispatch", "--once"),
        ("jobs",),
        ("jobs", "run", "retention"),
        ("db", "current"),
    ],
)
def test_every_process_checks_the_settings_before_starting(tmp_path, command):
    result = run_carpool(*command, CARPOOL_INSTANCE_PATH=str(tmp_path), PASSWORD_RESET_TTL_MIN="abc")

    assert_one_clear_line(result, "PASSWORD_RESET_TTL_MIN doit être un nombre entier")


def test_the_gunicorn_entry_point_checks_the_settings_too(tmp_path):
    env = {**os.environ, "CARPOOL_INSTANCE_PATH": str(tmp_path), "AUDIT_RETENTION_DAYS": "un an"}
    result = _import_wsgi(env)

    assert_one_clear_line(result, "AUDIT_RETENTION_DAYS")


def test_an_empty_environment_gives_the_default_settings():
    from carpool.config import Settings

    assert Settings.from_env({}) == Settings()


def test_the_readme_lists_every_setting_once():
    from dataclasses import fields

    from carpool.config import Settings

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    for field in fields(Settings):
        rows = [line for line in table if f"`{field.name.upper()}`" in line.split("|")[1]]
        assert len(rows) == 1, field.name.upper()


def _import_wsgi(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """What gunicorn does first: import the WSGI module, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-c", "import carpool.wsgi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

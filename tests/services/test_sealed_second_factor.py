"""Coordinators' second-factor keys are encrypted at rest: a database dump does not give them;
clear values written before are read, then sealed by ``carpool db upgrade``; a changed key
gives a French sentence and a one-line way out; FIELD_ENCRYPTION_KEYS rotates keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from support.drivers_kit import text
from support.factories import PASSWORD, TEST_BOX, TOTP_SECRET, add_coordinator

from carpool.config import Settings
from carpool.errors import StartupError
from carpool.field_encryption import MARKER, SecretBox, UnreadableSecret
from carpool.models import Role, UserAccount
from carpool.services import accounts

CARPOOL = str(Path(sys.executable).with_name("carpool"))
CODE_PAGE = "/coordination/connexion/code"


def carpool(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test", **env}
    environ = {name: value for name, value in environ.items() if value}  # "": unset
    return subprocess.run(
        [CARPOOL, *args], capture_output=True, text=True, env=environ, timeout=120, check=False
    )


def stored_secret(session, user: UserAccount) -> str:
    session.expire_all()
    value = session.scalar(sa.select(UserAccount.totp_secret).where(UserAccount.id == user.id))
    session.rollback()  # SQLite: let the app or the command write
    return value


def store_raw(session, user: UserAccount, value: str) -> None:
    session.execute(sa.update(UserAccount).where(UserAccount.id == user.id).values(totp_secret=value))
    session.commit()


def log_in_with_code(client, email: str, code: str):
    client.post("/coordination/connexion", data={"email": email, "password": PASSWORD})
    return client.post(CODE_PAGE, data={"code": code})


@pytest.fixture
def admin(session, association) -> UserAccount:
    return add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN)


def test_the_stored_value_is_not_the_secret(session, admin):
    stored = stored_secret(session, admin)

    assert stored.startswith(MARKER) and TOTP_SECRET not in stored
    assert TEST_BOX.open(stored) == TOTP_SECRET


def test_enrolment_stores_the_key_sealed(session, association, clock):
    user = add_coordinator(session, association, email="paul@example.org", totp=False)
    secret = accounts.pending_totp_secret(session, user, TEST_BOX)
    assert secret not in (user.totp_pending_secret or "")

    assert accounts.enable_totp(session, user, pyotp.TOTP(secret).at(clock.now()), clock, TEST_BOX)

    assert user.totp_secret is not None and secret not in user.totp_secret
    assert TEST_BOX.open(user.totp_secret) == secret


def test_log_in_works_with_a_sealed_key(client, no_csrf, session, admin, clock):
    response = log_in_with_code(client, admin.email, pyotp.TOTP(TOTP_SECRET).at(clock.now()))

    assert response.status_code == 302
    assert client.get("/coordination/compte").status_code == 200


def test_a_key_still_in_clear_is_read(client, no_csrf, session, admin, clock):
    store_raw(session, admin, TOTP_SECRET)

    response = log_in_with_code(client, admin.email, pyotp.TOTP(TOTP_SECRET).at(clock.now()))

    assert response.status_code == 302


def test_db_upgrade_seals_clear_keys_once(database_url, session, admin):
    store_raw(session, admin, TOTP_SECRET)

    first = carpool(database_url, "db", "upgrade")
    sealed = stored_secret(session, admin)
    second = carpool(database_url, "db", "upgrade")

    assert first.returncode == 0, first.stderr
    assert "clés de second facteur chiffrées : 1" in first.stdout
    assert sealed.startswith(MARKER) and TEST_BOX.open(sealed) == TOTP_SECRET
    assert second.returncode == 0, second.stderr
    assert "chiffrées" not in second.stdout
    assert stored_secret(session, admin) == sealed  # idempotent: nothing rewritten


def test_a_changed_key_gives_a_french_sentence_at_log_in(client, no_csrf, session, admin):
    store_raw(session, admin, SecretBox.from_settings("an older secret key").seal(TOTP_SECRET))

    response = client.post("/coordination/connexion", data={"email": admin.email, "password": PASSWORD})

    assert response.status_code == 503
    assert "Second facteur illisible" in text(response) and "contactez l'administrateur" in text(response)
    assert client.get("/coordination/compte").status_code == 302  # not logged in


def test_a_key_changed_between_password_and_code_gives_the_same_sentence(
    client, no_csrf, session, admin, clock
):
    client.post("/coordination/connexion", data={"email": admin.email, "password": PASSWORD})
    store_raw(session, admin, SecretBox.from_settings("an older secret key").seal(TOTP_SECRET))

    response = client.post(CODE_PAGE, data={"code": pyotp.TOTP(TOTP_SECRET).at(clock.now())})

    assert response.status_code == 503
    assert "Second facteur illisible" in text(response)
    assert client.get("/coordination/compte").status_code == 302


def test_db_upgrade_names_unreadable_keys_and_then_seals_nothing(database_url, session, association, admin):
    unreadable = SecretBox.from_settings("an older secret key").seal(TOTP_SECRET)
    store_raw(session, admin, unreadable)
    other = add_coordinator(session, association, email="paul@example.org")
    store_raw(session, other, TOTP_SECRET)

    result = carpool(database_url, "db", "upgrade")

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "second facteur illisible pour admin@example.org (clé changée) : "
        "carpool accounts reset-2fa admin@example.org"
    )
    assert stored_secret(session, admin) == unreadable
    assert stored_secret(session, other) == TOTP_SECRET  # never sealed with a key the site may not have


def test_db_upgrade_without_the_sites_key_seals_nothing(database_url, session, admin, tmp_path):
    store_raw(session, admin, TOTP_SECRET)

    result = carpool(database_url, "db", "upgrade", SECRET_KEY="", CARPOOL_INSTANCE_PATH=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY non défini : clés de second facteur laissées telles quelles" in result.stdout
    assert stored_secret(session, admin) == TOTP_SECRET


def test_reset_2fa_lets_the_person_enrol_again(database_url, client, no_csrf, session, admin):
    store_raw(session, admin, SecretBox.from_settings("an older secret key").seal(TOTP_SECRET))

    result = carpool(database_url, "accounts", "reset-2fa", "Admin@Example.org")
    response = client.post("/coordination/connexion", data={"email": admin.email, "password": PASSWORD})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("second facteur de admin@example.org effacé")
    assert stored_secret(session, admin) is None
    assert response.headers["Location"].endswith("/coordination/compte/second-facteur")


def test_reset_2fa_of_an_unknown_address_is_one_line(database_url, db):
    result = carpool(database_url, "accounts", "reset-2fa", "nobody@example.org")

    assert result.returncode == 1
    assert result.stderr.strip() == "erreur : aucun compte n'a l'adresse nobody@example.org"


def test_rotation_reseals_with_the_first_key_and_old_values_stay_readable(session, admin):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_box = SecretBox.from_settings("test", (old_key,))
    store_raw(session, admin, old_box.seal(TOTP_SECRET))
    both = SecretBox.from_settings("test", (new_key, old_key))

    assert both.open(stored_secret(session, admin)) == TOTP_SECRET
    report = accounts.seal_totp_secrets(session, both)
    session.commit()

    only_new = SecretBox([new_key])
    assert report.sealed == 1
    assert only_new.open(stored_secret(session, admin)) == TOTP_SECRET
    with pytest.raises(UnreadableSecret):
        SecretBox([old_key]).open(stored_secret(session, admin))


def test_db_upgrade_rotates_to_the_first_field_key(database_url, session, admin):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store_raw(session, admin, SecretBox([old_key]).seal(TOTP_SECRET))

    result = carpool(database_url, "db", "upgrade", FIELD_ENCRYPTION_KEYS=f"{new_key},{old_key}")

    assert result.returncode == 0, result.stderr
    assert "clés de second facteur chiffrées : 1" in result.stdout
    assert SecretBox([new_key]).open(stored_secret(session, admin)) == TOTP_SECRET


def test_setting_field_keys_the_first_time_locks_nobody_out() -> None:
    sealed_with_secret_key = SecretBox.from_settings("test").seal(TOTP_SECRET)

    with_field_keys = SecretBox.from_settings("test", (Fernet.generate_key().decode(),))

    assert with_field_keys.open(sealed_with_secret_key) == TOTP_SECRET
    assert with_field_keys.needs_sealing(sealed_with_secret_key)


def test_a_malformed_field_key_stops_the_start_with_one_sentence() -> None:
    with pytest.raises(StartupError, match="FIELD_ENCRYPTION_KEYS : la clé n° 2 n'est pas une clé Fernet"):
        Settings.from_env({"FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()}, short"})


def test_garbage_behind_the_marker_is_unreadable_not_a_crash() -> None:
    with pytest.raises(UnreadableSecret):
        TEST_BOX.open(MARKER + "é not a token")

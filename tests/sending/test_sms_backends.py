"""Backends: built from settings, console output masked, twilio errors classified."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from support.sendkit import SENDER, phone

from carpool.config import Settings
from carpool.errors import StartupError
from carpool.notify.backends import (
    ConsoleBackend,
    PermanentSendError,
    TransientSendError,
    TwilioBackend,
    backend_from_config,
)
from carpool.notify.dispatcher import DispatchSettings, dispatch_once


def twilio_config(**overrides: str) -> dict[str, object]:
    config = {
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "secret",
        "TWILIO_FROM": SENDER,
    }
    return {**Settings().as_config(), **config, **overrides}


def test_the_console_is_the_default_backend():
    assert isinstance(backend_from_config({}), ConsoleBackend)


def test_twilio_settings_build_a_twilio_backend():
    backend = backend_from_config(twilio_config(SMS_TIMEOUT_SECONDS="4"))
    assert (type(backend), backend.timeout_seconds) == (TwilioBackend, 4.0)


def test_missing_twilio_settings_are_named_in_one_sentence():
    with pytest.raises(StartupError, match="TWILIO_AUTH_TOKEN, TWILIO_FROM ou TWILIO_MESSAGING_SERVICE_SID"):
        backend_from_config(twilio_config(TWILIO_AUTH_TOKEN="", TWILIO_FROM=""))


def test_a_non_numeric_timeout_is_a_startup_error():
    with pytest.raises(StartupError, match="SMS_TIMEOUT_SECONDS"):
        backend_from_config(twilio_config(SMS_TIMEOUT_SECONDS="dix"))


def test_a_lease_too_short_for_the_timeout_is_a_startup_error():
    config = twilio_config(SMS_TIMEOUT_SECONDS="10", SMS_LEASE_SECONDS="15")
    with pytest.raises(StartupError, match="SMS_LEASE_SECONDS"):
        DispatchSettings.from_config(config, backend_from_config(config))


def test_the_default_settings_work_together():
    config = twilio_config()
    settings = DispatchSettings.from_config(config, backend_from_config(config))
    assert (settings.batch, settings.lease_seconds, settings.public_base_url) == (
        20,
        60,
        "http://127.0.0.1:5000",
    )


def test_importing_the_sending_code_does_not_load_twilio():
    code = (
        "import sys, carpool.cli, carpool.notify.backends, carpool.notify.dispatcher; "
        "sys.exit('twilio' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_console_backend_prints_masked_numbers_and_no_text(db, clock, queue):
    queue(3, body="Votre chauffeur Paul arrive a 9h")
    out = io.StringIO()
    report = dispatch_once(db, ConsoleBackend(out), clock)
    printed = out.getvalue()
    assert report.sent == 3 and printed.count("[sms console] +33 6 •• •• •• 0") == 3
    assert "Paul" not in printed and not any(phone(i)[1:] in printed for i in range(3))


def test_a_message_reaches_the_fake_through_the_real_client(fake_twilio, twilio):
    sid = twilio.send(phone(1), "Bonjour", "https://example.org/sms/status?outbox=1")
    (message,) = fake_twilio.messages
    assert (sid, message["to"], message["from"], message["body"]) == (
        message["sid"],
        phone(1),
        SENDER,
        "Bonjour",
    )
    assert sid.startswith("SM") and len(sid) == 34


def test_a_messaging_service_can_be_the_sender(fake_twilio):
    backend = TwilioBackend(
        fake_twilio.account_sid,
        fake_twilio.auth_token,
        messaging_service_sid="MG" + "0" * 32,
        api_base_url=fake_twilio.base_url,
    )
    backend.send(phone(1), "Bonjour", None)
    assert fake_twilio.messages[0]["messaging_service_sid"] == "MG" + "0" * 32


def test_a_wrong_auth_token_is_permanent(fake_twilio):
    backend = TwilioBackend(
        fake_twilio.account_sid, "wrong", from_number=SENDER, api_base_url=fake_twilio.base_url
    )
    with pytest.raises(PermanentSendError) as error:
        backend.send(phone(1), "Bonjour", None)
    assert (error.value.code, fake_twilio.messages) == ("20003", [])


def test_an_unreachable_provider_is_transient():
    backend = TwilioBackend("AC" + "0" * 32, "t", from_number=SENDER, api_base_url="http://127.0.0.1:9")
    with pytest.raises(TransientSendError):
        backend.send(phone(1), "Bonjour", None)


def test_find_sent_lists_only_the_same_text_to_the_same_number_since_the_given_time(fake_twilio, twilio):
    from datetime import timedelta

    since = datetime.now(UTC) - timedelta(minutes=1)
    wanted = twilio.send(phone(1), "Bonjour", None)
    twilio.send(phone(1), "Autre chose", None)
    twilio.send(phone(2), "Bonjour", None)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert (twilio.find_sent(phone(1), "Bonjour", since), twilio.find_sent(phone(1), "Bonjour", later)) == (
        [wanted],
        [],
    )


def test_a_network_error_message_keeps_no_number_in_clear():
    backend = TwilioBackend("AC" + "0" * 32, "t", from_number=SENDER, api_base_url="http://127.0.0.1:9")
    with pytest.raises(TransientSendError) as error:
        backend.find_sent(phone(1), "Bonjour", datetime.now(UTC))
    assert phone(1)[1:] not in error.value.message

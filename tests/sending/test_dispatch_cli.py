"""``carpool dispatch``: one pass or a loop, one-line errors, a clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time

from support.sendkit import CARPOOL, dispatcher_env, rows

from carpool.models.messages import OutboundStatus


def test_dispatch_once_sends_what_is_queued(db, database_url, fake_twilio, queue):
    queue(3)
    result = subprocess.run(
        [CARPOOL, "dispatch", "--once"],
        env=dispatcher_env(database_url, fake_twilio),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "SMS : 3 envoyés, 0 retrouvés chez le fournisseur, 0 à réessayer, 0 en échec",
    )
    assert len(fake_twilio.messages) == 3


def test_missing_twilio_settings_end_in_one_line(db, database_url, fake_twilio):
    env = dispatcher_env(database_url, fake_twilio, TWILIO_AUTH_TOKEN="")
    result = subprocess.run(
        [CARPOOL, "dispatch", "--once"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stderr.count("\n"), result.stderr.startswith("erreur : ")) == (
        1,
        1,
        True,
    )


def test_sigterm_stops_the_loop_cleanly(db, database_url, fake_twilio, queue):
    queue(5)
    env = dispatcher_env(database_url, fake_twilio, SMS_POLL_SECONDS="0.2", LOG_LEVEL="INFO")
    process = subprocess.Popen(
        [CARPOOL, "dispatch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while len(fake_twilio.messages) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=10)
    assert (process.returncode, [r.status for r in rows(db)]) == (0, [OutboundStatus.SENT] * 5)
    assert "+336" not in err  # the dispatcher's own log lines carry no number in clear

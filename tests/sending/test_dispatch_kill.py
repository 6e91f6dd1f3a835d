"""Acceptance: two dispatcher processes SIGKILLed at random lose and duplicate nothing.

300 SMS are queued; two ``carpool dispatch`` processes send them through the real
twilio client to the fake while one of them is killed (SIGKILL, no clean-up) at a
random moment every 0.3–1.2 s and restarted, up to 22 times (at least 15: the sends
must not outrun the kills), and three more times on purpose between Twilio's
acceptance and its answer (tests/support/killkit.py). A kill between Twilio's answer
and our commit leaves a row in ``sending``: after its 2 s lease another process must
find the message in Twilio's Messages list (same number, same text) instead of sending
it again.
"""

from __future__ import annotations

import os

import pytest
from support import killkit
from support.sendkit import dispatcher_env

MESSAGES = 300
SEED = int(os.environ.get("KILL_SEED", "20261123"))  # `make soak` tries other seeds


# Processes are SIGKILLed here: they get a database of their own, so whatever a kill leaves
# behind cannot reach the tests that follow.
@pytest.fixture(scope="module")
def database_url(database_factory):
    from support.dbkit import migrated_database

    return migrated_database(database_factory)


@pytest.fixture(scope="module")
def _shared_database(database_url):
    from carpool.db import Database

    database = Database(database_url)
    yield database
    database.dispose()


@pytest.mark.slow
@pytest.mark.kill
def test_two_dispatchers_killed_at_random_send_every_sms_exactly_once(
    db, database_url, fake_twilio, queue, tmp_path, record_property
):
    ids = queue(MESSAGES)
    # A provider round trip, before and after Twilio accepts: random kills land mid-send, not
    # only between sends, and sometimes after the message left and before its SID was stored.
    fake_twilio.delay_seconds = 0.015
    fake_twilio.answer_delay_seconds = 0.03
    env = dispatcher_env(
        database_url,
        fake_twilio,
        SMS_LEASE_SECONDS="2",
        SMS_TIMEOUT_SECONDS="0.5",
        SMS_POLL_SECONDS="0.2",
        SMS_BATCH="10",
        LOG_LEVEL="INFO",
    )

    run = killkit.run_with_kills(db, fake_twilio, env, tmp_path, killkit.KillPlan(seed=SEED))

    counts = killkit.count(db, ids, fake_twilio, run)
    counts.record(record_property, "kill test")
    counts.assert_exactly_once(run)

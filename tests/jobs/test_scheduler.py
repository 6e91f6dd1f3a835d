"""The clock process: one leader per database, --once for cron, `carpool jobs` for people."""

from __future__ import annotations

import subprocess
import time

import pytest
from support.sendkit import CARPOOL

from carpool.config import Settings
from carpool.leader import leadership_for
from carpool.scheduler import JOB_DEFAULTS, schedule


def env(database_url, **extra):
    import os

    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "SMS_BACKEND": "console",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def test_a_second_leader_is_refused_until_the_first_releases(db):
    first, second = leadership_for(db, 30), leadership_for(db, 30)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_a_process_that_lost_the_lead_cannot_write(db):
    from carpool.leader import LeadershipLost

    leader = leadership_for(db, 30)
    assert leader.acquire()
    leader.release()

    with pytest.raises(LeadershipLost), db.session() as session:
        leader.fence(session)


def test_runs_are_never_dropped_for_being_late_and_never_pile_up():
    assert JOB_DEFAULTS == {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}


def test_every_job_has_a_schedule_and_retention_runs_at_04h10_series_at_04h30():
    triggers = schedule(Settings())

    assert set(triggers) == {
        "expire_proposals",
        "expire_requests",
        "complete_trips",
        "notices",
        "series",
        "reoptimise",
        "retention",
        "dispatch",
    }
    assert "hour='4', minute='10'" in str(triggers["retention"])
    assert "hour='4', minute='30'" in str(triggers["series"])
    assert "hour='7', minute='30'" in str(triggers["reoptimise"])


def test_scheduler_once_runs_every_job_and_exits(db, database_url):
    result = subprocess.run(
        [CARPOOL, "scheduler", "--once"], env=env(database_url), capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert [line.split(" : ")[0] for line in result.stdout.splitlines()] == [
        "expire_proposals",
        "expire_requests",
        "complete_trips",
        "notices",
        "series",
        "reoptimise",
        "retention",
        "dispatch",
    ]


def test_carpool_jobs_lists_next_run_and_last_result(db, database_url):
    subprocess.run([CARPOOL, "scheduler", "--once"], env=env(database_url), capture_output=True, timeout=60)

    result = subprocess.run(
        [CARPOOL, "jobs"], env=env(database_url), capture_output=True, text=True, timeout=60
    )

    lines = result.stdout.splitlines()
    assert lines[0] == "planificateur actif : aucun"
    assert any(line.startswith("retention") and "prochaine :" in line and " ok : " in line for line in lines)
    assert any(line.startswith("notices") and "toutes les 60 s" in line for line in lines)


def test_two_schedulers_started_at_once_one_acts_the_other_exits_with_one_line(db, database_url, tmp_path):
    settings = env(database_url, SCHEDULER_TICK_SECONDS="0.2", SCHEDULER_LEASE_SECONDS="5")
    processes = [
        subprocess.Popen(
            [CARPOOL, "scheduler"], env=settings, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    exited = None
    deadline = time.monotonic() + 30
    while exited is None and time.monotonic() < deadline:
        exited = next((p for p in processes if p.poll() is not None), None)
        time.sleep(0.05)
    running = next(p for p in processes if p is not exited)
    try:
        assert exited is not None and exited.returncode == 1
        err = exited.stderr.read()
        assert (
            err.startswith("erreur : un autre planificateur est déjà actif sur cette base")
            and err.count("\n") == 1
        )
        assert running.poll() is None
    finally:
        running.terminate()
        assert running.wait(timeout=20) == 0


def test_a_waiting_scheduler_takes_over_when_the_leader_stops(db, database_url):
    leader = leadership_for(db, 30)  # held until released, however fast the waiter starts
    assert leader.acquire()
    waiting = subprocess.Popen(
        [CARPOOL, "scheduler", "--once", "--wait"],
        env=env(database_url, SCHEDULER_LEASE_SECONDS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # process orchestration: the waiting one must really be waiting
    assert waiting.poll() is None
    leader.release()

    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "notices : " in out


def test_a_once_run_longer_than_its_lease_keeps_the_lead(db, clock, monkeypatch):
    """Jobs that together outlast the lease (a loaded machine) must not find it lapsed at their fence."""
    from carpool import jobs
    from carpool.scheduler import run_once

    settings = Settings(scheduler_lease_seconds=0.5)
    leader = leadership_for(db, settings.scheduler_lease_seconds)
    assert leader.acquire()
    quick = jobs.JOBS["expire_proposals"]

    def slow(session, clock, settings):  # type: ignore[no-untyped-def]
        time.sleep(1.2)  # more than twice the lease
        return quick(session, clock, settings)

    monkeypatch.setitem(jobs.JOBS, "expire_proposals", slow)
    try:
        outcomes = run_once(db, clock, leader, settings, None)
    finally:
        leader.release()

    assert [o.name for o in outcomes if not o.ok] == []

"""Every run is recorded for ``carpool jobs``; idle runs share one row; failures are kept."""

from __future__ import annotations

import sqlalchemy as sa

from carpool import jobs
from carpool.models import JobRun


def runs(db):
    with db.session() as session:
        return [(r.name, r.ok, r.result) for r in session.scalars(sa.select(JobRun).order_by(JobRun.id))]


def test_consecutive_idle_runs_share_one_row(db, clock):
    for _ in range(3):
        clock.advance(minutes=1)
        jobs.run_job(db, "notices", clock)

    assert runs(db) == [("notices", True, "rien à faire")]
    with db.session() as session:
        assert jobs.last_runs(session)["notices"].started_at == clock.now()


def test_a_failing_job_is_recorded_as_failed_and_its_work_rolled_back(db, clock, monkeypatch):
    def broken(session, clock, settings):
        session.add(JobRun(name="ghost", started_at=clock.now(), ok=True, result=""))
        raise RuntimeError("boom")

    monkeypatch.setitem(jobs.JOBS, "notices", broken)

    outcome = jobs.run_job(db, "notices", clock)

    assert (outcome.ok, runs(db)) == (False, [("notices", False, "RuntimeError: boom")])


def test_a_dry_run_records_nothing(db, clock):
    jobs.run_job(db, "retention", clock, dry_run=True)

    assert runs(db) == []

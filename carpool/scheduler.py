"""The clock process (``carpool scheduler``): APScheduler 3 as a ticker, never inside the web app.

The database is the source of truth: each tick runs a job of carpool/jobs.py
that finds what is due from rows, so APScheduler's timing only decides *how
soon* work happens, never *whether* it happens or how often. Hence:
``coalesce=True`` (ten missed ticks run once), ``misfire_grace_time=None`` (a
late tick still runs: the default 1 s silently drops runs), ``max_instances=1``,
an in-memory schedule (no shared job store: two processes sharing one both run
every job), and every interval job runs once at start-up to catch up after
downtime. Only the leader acts (carpool/leader.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from carpool import jobs
from carpool.clock import PARIS, Clock
from carpool.config import Settings, load_config
from carpool.db import Database
from carpool.errors import StartupError
from carpool.leader import Leadership, LeadershipLost, leadership_for

log = logging.getLogger(__name__)

DISPATCH = "dispatch"
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
ANOTHER_LEADER = (
    "un autre planificateur est déjà actif sur cette base : celui-ci s'arrête "
    "(carpool scheduler --wait attend qu'il s'arrête)"
)


#: The due-work jobs run one after the other in a single tick, in this order: a proposal
#: expires before its request is counted, a trip completes before its feedback question.
TICK = ("expire_proposals", "expire_requests", "complete_trips", "notices")


def schedule(settings: Settings) -> dict[str, BaseTrigger]:
    """When each job ticks (Europe/Paris); ``carpool jobs`` shows the next run from here."""
    tick = IntervalTrigger(seconds=settings.scheduler_tick_seconds, timezone=PARIS)
    triggers: dict[str, BaseTrigger] = dict.fromkeys(TICK, tick)
    # 04:10 exists exactly once on every day, DST changes included (they happen between 02:00 and 03:00).
    triggers["retention"] = CronTrigger(hour=4, minute=10, timezone=PARIS)
    triggers["series"] = CronTrigger(hour=4, minute=30, timezone=PARIS)
    if settings.reoptimise_at != "off":
        hour, minute = settings.reoptimise_at.split(":")
        triggers["reoptimise"] = CronTrigger(hour=int(hour), minute=int(minute), timezone=PARIS)
    if settings.scheduler_dispatch_seconds:
        triggers[DISPATCH] = IntervalTrigger(seconds=settings.scheduler_dispatch_seconds, timezone=PARIS)
    return triggers


def next_runs(settings: Settings, now: datetime) -> dict[str, str]:
    """Each job's next run as people read it: a time for daily jobs, the period for ticking ones."""
    shown = {}
    for name, trigger in schedule(settings).items():
        if isinstance(trigger, IntervalTrigger):
            shown[name] = f"toutes les {trigger.interval_length:g} s"
        else:
            when = trigger.get_next_fire_time(None, now.astimezone(PARIS))
            shown[name] = when.astimezone(PARIS).strftime("%d/%m %H:%M") if when else "-"
    return shown


# --- dispatch from the clock process --------------------------------------------


class Dispatcher:
    """Sends the outbox with the configured backend, on the wall clock (leases measure real time)."""

    def __init__(self, settings: Settings) -> None:
        from carpool.notify.backends import backend_from_config
        from carpool.notify.dispatcher import DispatchSettings

        config = load_config(settings.instance_path(), settings)
        self.backend = backend_from_config(config)
        self.settings = DispatchSettings.from_config(config, self.backend)

    def __call__(self, database: Database) -> str:
        from carpool.notify.dispatcher import dispatch_once

        report = dispatch_once(
            database,
            self.backend,
            Clock(),
            batch=self.settings.batch,
            lease_seconds=self.settings.lease_seconds,
            public_base_url=self.settings.public_base_url,
            call_limits=self.settings.call_limits,
        )
        if not report.claimed:
            return jobs.IDLE
        return (
            f"SMS : {report.sent} envoyés, {report.reconciled} retrouvés, "
            f"{report.retried} à réessayer, {report.failed} en échec"
        )


def run_dispatch(database: Database, dispatcher: Dispatcher, clock: Clock) -> jobs.JobOutcome:
    started = clock.now()
    try:
        result, ok = dispatcher(database), True
    except Exception as exc:
        log.exception("envoi des SMS en échec")
        result, ok = f"{type(exc).__name__}: {exc}".splitlines()[0][:500], False
    with database.session() as session:
        jobs.record_run(session, DISPATCH, started, clock.now(), ok, result)
    return jobs.JobOutcome(DISPATCH, ok, result)


# --- leading ------------------------------------------------------------------


def lead(database: Database, settings: Settings, *, wait: bool, stop: threading.Event) -> Leadership | None:
    """Become the leader, or raise StartupError; with ``wait``, wait (None if stopped meanwhile)."""
    leader = leadership_for(database, settings.scheduler_lease_seconds)
    while not leader.acquire():
        if not wait:
            raise StartupError(ANOTHER_LEADER)
        log.info("un autre planificateur est actif : attente")
        if stop.wait(min(settings.scheduler_lease_seconds / 3, 5)):
            return None  # stopped while waiting: nothing to do, a clean exit
    log.info("planificateur actif (%s)", leader.holder)
    return leader


def run_once(
    database: Database,
    clock: Clock,
    leader: Leadership,
    settings: Settings,
    dispatcher: Dispatcher | None,
) -> list[jobs.JobOutcome]:
    """Every job once, in order (``carpool scheduler --once``, cron, tests).

    The lease is renewed meanwhile, as the clock process does: jobs that together take longer
    than it (a loaded machine, a big re-optimisation) must not find it lapsed at their fence.
    """
    scheduled = schedule(settings)  # a job turned off (REOPTIMISE_AT=off) runs only on demand
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(max(settings.scheduler_lease_seconds / 3, 0.2)):
            if not leader.renew():
                return  # taken over: the next fence says so

    keeper = threading.Thread(target=renew, name="scheduler-lease", daemon=True)
    keeper.start()
    try:
        outcomes = []
        for name in jobs.JOBS:
            if name in scheduled:
                leader.renew()  # fresh before each fence, whatever the keeper managed meanwhile
                outcomes.append(jobs.run_job(database, name, clock, settings=settings, fence=leader.fence))
        if dispatcher is not None:
            outcomes.append(run_dispatch(database, dispatcher, clock))
    finally:
        stop.set()
        keeper.join()
    return outcomes


def run_forever(
    database: Database,
    clock: Clock,
    leader: Leadership,
    settings: Settings,
    dispatcher: Dispatcher | None,
    stop: threading.Event,
) -> int:
    """Tick until ``stop`` is set (SIGTERM) or leadership is lost; returns the exit code."""
    scheduler = BlockingScheduler(timezone=PARIS, job_defaults=JOB_DEFAULTS)
    # "Running job … executed successfully" every few seconds says nothing: job_run is the record.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    # A tick still running when the next is due is skipped on purpose (max_instances=1).
    logging.getLogger("apscheduler.scheduler").addFilter(
        lambda record: "maximum number of running instances" not in record.getMessage()
    )
    lost = threading.Event()
    start = datetime.now(PARIS)

    def guarded(name: str, work: Callable[[], Any]) -> None:
        if stop.is_set() or lost.is_set():
            return
        try:
            outcome = work()
        except LeadershipLost:
            lost.set()
            return
        if outcome.result != jobs.IDLE:
            log.info("%s : %s", name, outcome.result)

    def renew() -> None:
        if not lost.is_set() and not leader.renew():
            log.error("le planificateur a perdu la main : arrêt")
            lost.set()

    def tick() -> jobs.JobOutcome:
        outcomes = [
            jobs.run_job(database, name, clock, settings=settings, fence=leader.fence) for name in TICK
        ]
        busy = [f"{o.name} : {o.result}" for o in outcomes if o.result != jobs.IDLE]
        return jobs.JobOutcome("tick", all(o.ok for o in outcomes), " ; ".join(busy) or jobs.IDLE)

    triggers = schedule(settings)
    # Every ticking job runs once at start-up: a restart catches up at once after downtime.
    scheduler.add_job(guarded, triggers[TICK[0]], args=("tick", tick), id="tick", next_run_time=start)
    retention = lambda: jobs.run_job(  # noqa: E731
        database, "retention", clock, settings=settings, fence=leader.fence
    )
    scheduler.add_job(guarded, triggers["retention"], args=("retention", retention), id="retention")
    # Daily like retention: a day missed is made up the next (the series run weeks ahead).
    series = lambda: jobs.run_job(database, "series", clock, settings=settings, fence=leader.fence)  # noqa: E731
    scheduler.add_job(guarded, triggers["series"], args=("series", series), id="series")
    if "reoptimise" in triggers:
        reoptimise = lambda: jobs.run_job(  # noqa: E731
            database, "reoptimise", clock, settings=settings, fence=leader.fence
        )
        scheduler.add_job(guarded, triggers["reoptimise"], args=("reoptimise", reoptimise), id="reoptimise")
    if dispatcher is not None:
        send = lambda: run_dispatch(database, dispatcher, clock)  # noqa: E731
        scheduler.add_job(
            guarded, triggers[DISPATCH], args=(DISPATCH, send), id=DISPATCH, next_run_time=start
        )
    scheduler.add_job(
        renew, IntervalTrigger(seconds=max(settings.scheduler_lease_seconds / 3, 0.2)), id="lease"
    )

    def watch() -> None:
        while not (stop.wait(0.2) or lost.is_set()):
            pass
        while not scheduler.running:  # a SIGTERM may come before start() has begun
            time.sleep(0.05)
        scheduler.shutdown(wait=True)

    threading.Thread(target=watch, name="scheduler-stop", daemon=True).start()
    scheduler.start()
    return 1 if lost.is_set() else 0

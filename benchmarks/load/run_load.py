"""Load benchmark: gunicorn on PostgreSQL/PostGIS with a département-scale dataset, driven over HTTP.

    .venv/bin/python benchmarks/load/run_load.py [--duration 60] [--warmup 10] [--workers 3]
        [--worker-class sync|gthread] [--threads 4] [--sms-rate 50] [--voice-rate 10]
        [--database-url ADMIN_URL]
        [--no-append]

Creates ``carpool_load_<random>`` on the server of ``--database-url`` (default
``$BENCH_POSTGRES_URL`` or the local trust-auth server), migrates it, imports the communes and
bulk-inserts the dataset (``dataset.py``); serves ``carpool.wsgi:app`` with gunicorn on
127.0.0.1 (no Twilio token: the SMS webhook accepts loopback requests unsigned; console
backend and no dispatcher, so replies stay in the outbox); runs ``loadgen.py`` in a separate
process; checks in the database that every inbound SMS got its reply stored; prints the table
and appends it to ``benchmarks/RESULTS.md``; stops gunicorn and drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: The issue's targets, per route family (ms at p95).
TARGETS = {"sms": 100.0, "driver": 300.0, "dashboard": 300.0, "voice": 100.0}

sys.path.insert(0, str(HERE))
import dataset  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(url: str, port: int, args: argparse.Namespace, scratch: Path) -> subprocess.Popen[bytes]:
    """gunicorn as the Procfile runs it, with the benchmark's worker settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_BASE_URL"))}
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=secrets.token_hex(32),
        SMS_BACKEND="console",
        CARPOOL_INSTANCE_PATH=str(scratch / "instance"),
        LOG_LEVEL="WARNING",
        # 50 SMS/s is far past a real association's reply budgets: measure the replies, not the guard.
        SMS_REPLY_BUDGET_PER_NUMBER="1000000",
        SMS_REPLY_BUDGET_GLOBAL="1000000000",
        VOICE_CALLS_PER_NUMBER_HOUR="1000000",
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    command.append("carpool.wsgi:app")
    log = open(scratch / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: {(scratch / 'gunicorn.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(server: subprocess.Popen[bytes], url: str) -> tuple[float, float]:
    """CPU seconds used so far by the gunicorn workers and by this database's PostgreSQL backends."""
    workers = [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _parent(int(p.name)) == server.pid
    ]
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        backends = conn.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    engine.dispose()
    return sum(map(_cpu_seconds, workers)), sum(map(_cpu_seconds, backends))


def machine_ticks() -> list[int]:
    """The first line of /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal (ticks)."""
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


@dataclass
class Window:
    """What the machine and the server spent during the measured window only (no log-ins, no warm-up)."""

    machine: list[int] = field(default_factory=list)
    server: tuple[float, float] = (0.0, 0.0)

    def sample(self, server: subprocess.Popen[bytes], url: str) -> None:
        self.machine = machine_ticks()
        self.server = server_cpu(server, url)

    def sentence(self, later: Window, answers: int, seconds: float) -> str:
        """Machine busy and stolen share, and server CPU per answer, between this sample and ``later``."""
        ticks = [b - a for a, b in zip(self.machine, later.machine, strict=True)]
        total = sum(ticks) or 1
        busy = total - ticks[3] - ticks[4]
        app, db = (b - a for a, b in zip(self.server, later.server, strict=True))
        return (
            f"Measured window only ({seconds:.0f} s, {answers} answers): the machine's {os.cpu_count()} "
            f"cores were {100 * busy / total:.0f} % busy (of which stolen by the host "
            f"{100 * ticks[7] / total:.1f} %, iowait {100 * ticks[4] / total:.1f} %); "
            f"gunicorn {1000 * app / max(answers, 1):.1f} ms + "
            f"PostgreSQL {1000 * db / max(answers, 1):.1f} ms of CPU per answer."
        )


def _window_samples(
    server: subprocess.Popen[bytes], url: str, warmup: float, duration: float
) -> tuple[Window, Window, threading.Thread]:
    """Sample at the start and at the end of the measured window, beside the load generator."""
    start, end = Window(), Window()

    def run() -> None:
        time.sleep(warmup)
        start.sample(server, url)
        time.sleep(duration)
        end.sample(server, url)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return start, end, thread


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


#: Inbound SMS of the run that have no reply row in the outbox.
SILENT = (
    "FROM inbound_message i WHERE NOT EXISTS (SELECT 1 FROM outbound_message o "
    "WHERE o.idempotency_key LIKE 'inbound:' || i.message_sid || ':%')"
)
RECENT = "created_at >= :since"


def replies_stored(url: str, since: datetime) -> dict[str, object]:
    """Every inbound SMS of the run, its replies in the outbox, and those left without one."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:

        def count(sql: str) -> int:
            return int(conn.scalar(sa.text(sql), {"since": since}) or 0)

        stored: dict[str, object] = {
            "inbound": count("SELECT count(*) FROM inbound_message"),
            "replies": count("SELECT count(*) FROM outbound_message WHERE idempotency_key LIKE 'inbound:%'"),
            "without_reply": count(f"SELECT count(*) {SILENT}"),
            "new_requests": count(f"SELECT count(*) FROM ride_request WHERE source = 'sms' AND {RECENT}"),
            "new_matches": count(f"SELECT count(*) FROM ride_match WHERE {RECENT}"),
            # A seat booked on an offer confirms under the match's keys, not the message's.
            "match_notices": count(
                f"SELECT count(*) FROM outbound_message WHERE idempotency_key LIKE 'match:%' AND {RECENT}"
            ),
            "silent_by_intent": dict(
                conn.execute(sa.text(f"SELECT coalesce(i.intent, '?'), count(*) {SILENT} GROUP BY 1")).all()
            ),
        }
    engine.dispose()
    return stored


def family(route: str) -> str:
    return route.split(":", 1)[0]


def report(result: dict, stored: dict) -> str:  # type: ignore[type-arg]
    """The markdown table per route, then the totals and the database check."""
    routes, duration = result["routes"], result["duration"]
    lines = [
        "| route | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | p95 target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in routes.items():
        target = TARGETS.get(family(name))
        verdict = "–" if target is None else f"≤ {target:.0f} {'✔' if r['p95'] <= target else '✘'}"
        figures = " | ".join(f"{r[k]:.0f}" for k in ("p50", "p95", "p99", "max"))
        lines.append(
            f"| {name} | {r['requests']} | {r['rate']:.1f} | {figures} | {r['errors']} | {verdict} |"
        )
    for fam in ("sms", "driver", "api", "dashboard", "voice"):
        merged = [r for n, r in routes.items() if family(n) == fam]
        if merged:
            total, rate = sum(r["requests"] for r in merged), sum(r["rate"] for r in merged)
            errors = sum(r["errors"] for r in merged)
            lines.append(f"| **all {fam}** | {total} | {rate:.1f} | | | | | {errors} | |")
    total = sum(r["requests"] for r in routes.values())
    rate = sum(r["rate"] for r in routes.values())
    errors = sum(r["errors"] for r in routes.values())
    samples = "; ".join([s for r in routes.values() for s in r["error_samples"]][:5])
    lines += [
        "",
        f"Throughput: {rate:.1f} answers/s within the {duration:.0f} s window "
        f"({total} requests scheduled, {errors} errors{': ' + samples if samples else ''}). "
        f"SMS webhook: {result['sms_achieved_rate']:.1f}/s answered "
        f"for {result['rates']['sms']:g}/s offered. Database after the run: {stored['inbound']} inbound SMS, "
        f"{stored['replies']} replies in the outbox, "
        f"{stored['without_reply']} inbound without a reply of their own (by intent: "
        f"{stored['silent_by_intent']}; an 'accept' that books a seat on an offer is confirmed under the "
        f"match's keys: {stored['match_notices']} match:* notices queued), "
        f"{stored['new_requests']} requests created by SMS, {stored['new_matches']} bookings. "
        f"Generator lag p99 (scheduled → sent): {result['generator_lag_p99_ms']:.0f} ms; "
        f"queue drained {result['drain_seconds']:.0f} s after the end; "
        f"{result['logins']} log-ins through the forms.",
    ]
    return "\n".join(lines)


def machine_facts(args: argparse.Namespace, before: tuple[float, ...], after: tuple[float, ...]) -> str:
    workers = f"{args.workers} {args.worker_class} workers" + (
        f" × {args.threads} threads" if args.worker_class == "gthread" else ""
    )
    return " · ".join(
        [
            f"{os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL at "
            f"{args.database_url.split('@')[-1]}",
            f"gunicorn {workers}",
            f"load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in before)}, "
            f"after {'/'.join(f'{x:.1f}' for x in after)}",
            f"offered: SMS {args.sms_rate:g}/s (fixed interval), driver pages {args.driver_rate:g}/s, "
            f"API {args.api_rate:g}/s, dashboard {args.dashboard_rate:g}/s (Poisson), "
            f"voice {args.voice_rate:g} calls/s (a call and a key press each, fixed interval)",
            f"{args.warmup:g} s warm-up, {args.duration:g} s measured",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_ADMIN_URL))
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=4, help="per worker, with gthread")
    parser.add_argument("--sms-rate", type=float, default=50)
    parser.add_argument("--driver-rate", type=float, default=8)
    parser.add_argument("--api-rate", type=float, default=8)
    parser.add_argument("--dashboard-rate", type=float, default=2)
    parser.add_argument("--voice-rate", type=float, default=10, help="calls per second to /voice/inbound")
    parser.add_argument("--no-append", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()

    load_before = os.getloadavg()
    started = time.perf_counter()
    try:
        url, admin = dataset.create_database(args.database_url)
    except sa.exc.OperationalError as exc:
        raise SystemExit(
            f"PostgreSQL unreachable at {args.database_url} ({exc.orig}): set --database-url"
        ) from None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            scratch = Path(tmp)
            fixture = dataset.populate(url)
            seeded = time.perf_counter() - started
            (scratch / "fixture.json").write_text(json.dumps(fixture.to_dict()))
            port = _free_port()
            server = start_gunicorn(url, port, args, scratch)
            try:
                command = [
                    sys.executable,
                    str(HERE / "loadgen.py"),
                    "--base",
                    f"http://127.0.0.1:{port}",
                    "--fixture",
                    str(scratch / "fixture.json"),
                    "--out",
                    str(scratch / "result.json"),
                    "--duration",
                    str(args.duration),
                    "--warmup",
                    str(args.warmup),
                    "--sms-rate",
                    str(args.sms_rate),
                    "--driver-rate",
                    str(args.driver_rate),
                    "--api-rate",
                    str(args.api_rate),
                    "--dashboard-rate",
                    str(args.dashboard_rate),
                    "--voice-rate",
                    str(args.voice_rate),
                ]
                cpu_before = server_cpu(server, url)
                load_started = datetime.now(UTC)
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                window_start, window_end, sampler = _window_samples(server, url, args.warmup, args.duration)
                subprocess.run(command, check=True, cwd=ROOT)
                sampler.join()
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                generator_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
                cpu_after = server_cpu(server, url)
            finally:
                stop(server)
                problems = [
                    line for line in (scratch / "gunicorn.log").read_text().splitlines() if "ERROR" in line
                ]
            result = json.loads((scratch / "result.json").read_text())
            stored = replies_stored(url, load_started)
    finally:
        dataset.drop_database(admin, url)
    facts = machine_facts(args, load_before, os.getloadavg())
    table = report(result, stored)
    app_cpu, db_cpu = (after - before for before, after in zip(cpu_before, cpu_after, strict=True))
    answered = result["answered_total"]
    table += (
        f"\n\nServer CPU over the whole load (log-ins, warm-up, window, drain: {answered} answers): "
        f"gunicorn workers {app_cpu:.1f} s, PostgreSQL backends {db_cpu:.1f} s (lower bound: only backends "
        f"still open), i.e. {1000 * app_cpu / answered:.1f} + {1000 * db_cpu / answered:.1f} ms of CPU per "
        f"request on average; at 100 % of {os.cpu_count()} cores that is at most "
        f"{(os.cpu_count() or 1) * answered / (app_cpu + db_cpu):.0f} requests/s of this mix. "
        f"The load generator, on the same cores, used {generator_cpu:.1f} s of CPU."
    )
    window_answers = sum(r["requests"] for r in result["routes"].values())
    table += "\n\n" + window_start.sentence(window_end, window_answers, args.duration)
    if problems:
        table += f"\n\ngunicorn logged {len(problems)} ERROR lines, first: {problems[0][:200]}"
    command = shlex.join([".venv/bin/python", "benchmarks/load/run_load.py", *sys.argv[1:]])
    text = (
        f"\n### Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\nCommand: `{command}`\n\n"
        f"{facts} · dataset {fixture.counts} seeded in {seeded:.1f} s.\n\n{table}\n"
    )
    print(text)
    if not args.no_append:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()

"""Server CPU per route of the load mix, in one process, without HTTP: where the milliseconds go.

    .venv/bin/python benchmarks/load/profile_routes.py [--requests 300] [--keep URL]
        [--profile sms|driver|api|dashboard|voice] [--only FAMILY …] [--database-url ADMIN_URL]

Seeds the load benchmark's dataset (``dataset.py``) in a throwaway PostgreSQL database, or
reuses one given with ``--keep`` (seeded by an earlier run that printed its URL), then sends the
load generator's own calls (``loadgen.py``) through Flask's test client in sequence and prints
the thread CPU time and the SQL statements per route. ``--profile FAMILY`` prints the top of a
cProfile of that family. The figures are what one request costs a worker when nothing else runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dataset  # noqa: E402
import loadgen  # noqa: E402

FAMILIES = ("sms", "driver", "api", "dashboard", "voice")


def _submit(client, path: str, fields: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """GET a form (CSRF token), POST it; returns where it redirects."""
    page = client.get(path).data
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert token, f"no CSRF token on {path}"
    answer = client.post(path, data={"csrf_token": token.group(1).decode(), **fields})
    assert answer.status_code == 302, f"{path}: HTTP {answer.status_code}"
    return str(answer.headers.get("Location", ""))


def log_in(client, prefix: str, email: str, password: str, totp_secret: str = "") -> None:  # type: ignore[no-untyped-def]
    """The log-in form, then the second factor when asked."""
    location = _submit(client, f"{prefix}/connexion", {"email": email, "password": password, "next": ""})
    if location.endswith("/connexion/code"):
        import pyotp

        _submit(client, f"{prefix}/connexion/code", {"code": pyotp.TOTP(totp_secret).now()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_POSTGRES_URL", loadgen_default()))
    parser.add_argument("--keep", help="reuse this seeded database (its fixture JSON beside it in /tmp)")
    parser.add_argument("--requests", type=int, default=300, help="per traffic class")
    parser.add_argument("--profile", choices=FAMILIES)
    parser.add_argument("--only", choices=FAMILIES, action="append", help="measure only these families")
    parser.add_argument(
        "--echo", action="store_true", help="print the SQL of each route's first measured request"
    )
    args = parser.parse_args()

    if args.keep:
        url = args.keep
        fixture = json.loads(Path(tempfile.gettempdir(), url.rsplit("/", 1)[1] + ".json").read_text())
    else:
        url, admin = dataset.create_database(args.database_url)
        admin.dispose()
        fixture = dataset.populate(url).to_dict()
        Path(tempfile.gettempdir(), url.rsplit("/", 1)[1] + ".json").write_text(json.dumps(fixture))
        print(f"seeded {url} (drop it with DROP DATABASE when done; reuse with --keep {url})")

    os.environ.update(DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32), SMS_BACKEND="console")
    os.environ["LOG_LEVEL"] = "WARNING"
    # The load mix's SMS rate is far past a real association's reply budgets: profile the replies.
    os.environ.update(SMS_REPLY_BUDGET_PER_NUMBER="1000000", SMS_REPLY_BUDGET_GLOBAL="1000000000")
    os.environ["VOICE_CALLS_PER_NUMBER_HOUR"] = "1000000"
    for key in [k for k in os.environ if k.startswith(("TWILIO_", "PUBLIC_BASE_URL"))]:
        del os.environ[key]
    from carpool import create_app

    app = create_app({"CARPOOL_INSTANCE_PATH": tempfile.mkdtemp()})
    statements, echoed = [0], [False]

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements[0] += 1
        if echoed[0]:
            print("   ", " ".join(statement.split())[:160])

    sa.event.listen(app.extensions["carpool.db"].engine, "before_cursor_execute", count)

    rng = random.Random(7)
    drivers = []
    for d in fixture["drivers"][:20]:
        client = app.test_client()
        log_in(client, "/conducteurs", d["email"], fixture["password"])
        drivers.append({**d, "client": client, "cookie": f"driver-{len(drivers)}"})
    coordinator = app.test_client()
    log_in(
        coordinator,
        "/coordination",
        fixture["coordinator_email"],
        fixture["password"],
        fixture.get("coordinator_totp_secret", ""),
    )
    sms = loadgen.SmsTraffic(fixture, rng)
    pages = loadgen.PageTraffic(drivers, [""], fixture["resident_names"], rng)
    voice = loadgen.VoiceTraffic(fixture, rng)
    clients = {"sms": app.test_client(), "dashboard": coordinator, "voice": app.test_client()}

    cpu: dict[str, list[float]] = defaultdict(list)
    sql: dict[str, list[int]] = defaultdict(list)
    profiler = cProfile.Profile(time.thread_time)  # CPU of this thread: database waits excluded
    clock = 0.0
    for family, make in (
        ("sms", sms.next_call),
        ("driver", pages.driver_call),
        ("api", pages.api_call),
        ("dashboard", pages.dashboard_call),
        ("voice", voice.next_call),
    ):
        if args.only and family not in args.only:
            continue
        for i in range(args.requests + 20):
            clock += 1.0 / 20  # SMS follow-ups (OUI a few seconds later) fall due on this clock
            call = make(clock)
            client = clients.get(family) or _client_of(drivers, call)
            headers = {k: v for k, v in call.headers.items() if k != "Cookie"}
            measured = i >= 20  # warm-up: templates compiled, matcher index built
            if measured and args.profile == family:
                profiler.enable()
            echoed[0] = args.echo and measured and call.route not in cpu
            if echoed[0]:
                print(call.route)
            before, count = time.thread_time(), statements[0]
            answer = client.open(call.path, method=call.method, data=call.body, headers=headers)
            spent = time.thread_time() - before
            if measured and args.profile == family:
                profiler.disable()
            assert answer.status_code == call.expect, (call.route, answer.status_code, answer.data[:200])
            if measured:
                cpu[call.route].append(spent * 1000)
                sql[call.route].append(statements[0] - count)
    print("| route | n | CPU mean ms | CPU p95 ms | SQL statements mean |")
    print("|---|---:|---:|---:|---:|")
    for route in sorted(cpu):
        values = cpu[route]
        print(
            f"| {route} | {len(values)} | {sum(values) / len(values):.1f} | "
            f"{loadgen.percentile(values, 0.95):.1f} | {sum(sql[route]) / len(sql[route]):.1f} |"
        )
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(os.environ.get("PROFILE_FILTER", ""), 45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _client_of(drivers, call):  # type: ignore[no-untyped-def]
    """The test client of the driver whose cookie marker or API token the call carries."""
    for d in drivers:
        if (
            call.headers.get("Cookie") == d["cookie"]
            or call.headers.get("Authorization") == f"Bearer {d['token']}"
        ):
            return d["client"]
    raise AssertionError(call)


def loadgen_default() -> str:
    return "postgresql://postgres@127.0.0.1:5432/postgres"


if __name__ == "__main__":
    main()

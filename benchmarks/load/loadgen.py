"""Open-loop HTTP load generator: fixed arrival rates, latency measured from the scheduled time.

    python benchmarks/load/loadgen.py --base http://127.0.0.1:8123 --fixture fixture.json \
        --duration 60 --warmup 10 --out results.json

Runs in its own process (started by ``run_load.py``). Each traffic class (SMS webhook,
driver pages, API, dashboard) has a scheduler thread that hands requests to a thread pool
at a fixed rate, whether or not earlier ones came back: a slow server makes requests queue
and the queueing counts in the latency (no coordinated omission). Standard library only.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import json
import random
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi")
#: What residents write (département → bodies); {day} and {hour} are filled in.
REQUESTS = {
    "46": (
        "Bonjour je voudrais aller à l'hôpital de Cahors {day} à {hour}h",
        "Bjr jai rdv a lhopital de cahors {day} a {hour}h svp",
        "bonjour c'est pour ma mère elle doit aller a l hopital de figeac {day} {hour}h merci",
        "RDV clinique du quercy {day} {hour}h",
        "je dois aller au marche de gourdon {day} matin",
        "Bonjour, j'ai un rendez-vous à l'hôpital de Gourdon {day} à {hour}h. Cordialement, Odette",
        "il me faudrait une voiture pour la mairie de cahors {day} a {hour}h",
    ),
    "95": (
        "Bonjour je voudrais aller à l'hôpital d'Argenteuil {day} à {hour}h",
        "rdv hopital d argenteuil {day} {hour}h svp",
        "Bonjour j'ai rendez vous à l'hôpital de Pontoise {day} à {hour}h",
        "pour aller a la mairie d'argenteuil {day} a {hour}h merci",
    ),
}
OTHERS = ("merci beaucoup", "Bonjour", "AIDE", "c'est quand ?")


@dataclass(frozen=True)
class Call:
    """One HTTP request to make, with the label its latency is reported under."""

    route: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None
    expect: int = 200


class Recorder:
    """Latencies (from the scheduled time) and errors, per route, after the warm-up."""

    def __init__(self, measure_from: float) -> None:
        self.measure_from = measure_from
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lag: list[float] = []  # scheduled → sent: how far the generator itself fell behind
        self.completed_in_window: dict[str, int] = defaultdict(int)  # answered before the end: throughput
        self.until = float("inf")
        self.answered = 0  # every answer, warm-up included (server CPU per request)

    def add(self, route: str, scheduled: float, sent: float, done: float, error: str | None) -> None:
        if not error:
            with self.lock:
                self.answered += 1
        if scheduled < self.measure_from:
            return
        with self.lock:
            self.latencies[route].append((done - scheduled) * 1000)
            if done <= self.until and not error:
                self.completed_in_window[route] += 1
            self.lag.append((sent - scheduled) * 1000)
            if error:
                self.errors[route].append(error)


_local = threading.local()


def _connection(host: str, port: int) -> http.client.HTTPConnection:
    """One connection per pool thread, reopened when the server closes it (sync workers do)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection(host, port, timeout=30)
    return conn


def perform(host: str, port: int, call: Call) -> tuple[int, bytes, http.client.HTTPResponse]:
    for attempt in (1, 2):
        conn = _connection(host, port)
        try:
            conn.request(call.method, call.path, body=call.body, headers=call.headers)
            response = conn.getresponse()
            data = response.read()
            if response.will_close:
                conn.close()
            return response.status, data, response
        except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
            conn.close()
            _local.conn = None
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


# --- log-ins through the real forms --------------------------------------------------------


def _cookie(response: http.client.HTTPResponse) -> str:
    for header in response.headers.get_all("Set-Cookie") or []:
        if header.startswith("session="):
            return header.split(";", 1)[0]
    return ""


def _submit(host: str, port: int, path: str, cookie: str, fields: dict[str, str]) -> tuple[str, str]:
    """GET a form (CSRF token), POST it with ``fields``; returns the new cookie and the redirect."""
    headers = {"Cookie": cookie} if cookie else {}
    status, page, response = perform(host, port, Call("login", "GET", path, headers))
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if status != 200 or token is None:
        raise SystemExit(f"log-in form {path}: HTTP {status}, no CSRF token")
    form = urlencode({"csrf_token": token.group(1).decode(), **fields})
    cookie = _cookie(response) or cookie
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    status, _page, response = perform(host, port, Call("login", "POST", path, headers, form.encode()))
    new_cookie = _cookie(response)
    if status != 302 or not new_cookie:
        raise SystemExit(f"log-in {path}: HTTP {status} (expected a redirect)")
    return new_cookie, response.headers.get("Location", "")


def log_in(host: str, port: int, prefix: str, email: str, password: str, totp_secret: str = "") -> str:
    """The log-in form, then the second factor when asked; returns the logged-in cookie."""
    fields = {"email": email, "password": password, "next": ""}
    cookie, location = _submit(host, port, f"{prefix}/connexion", "", fields)
    if location.endswith("/connexion/code"):
        import pyotp

        code = pyotp.TOTP(totp_secret).now()
        cookie, _location = _submit(host, port, f"{prefix}/connexion/code", cookie, {"code": code})
    return cookie


# --- traffic classes -----------------------------------------------------------------------


class SmsTraffic:
    """Conversations: a request in the resident's words, then OUI a few seconds later, sometimes ANNULER."""

    def __init__(self, fixture: dict[str, Any], rng: random.Random) -> None:
        self.rng = rng
        self.residents = list(fixture["residents"])
        self.number_of = {r["phone"]: r.get("to", "+33639980000") for r in self.residents}
        rng.shuffle(self.residents)
        self.next_resident = 0
        self.follow_ups: list[tuple[float, str, str, str]] = []  # (due, phone, body, route)
        self.lock = threading.Lock()

    def _form(self, phone: str, body: str) -> bytes:
        return urlencode(
            {
                "MessageSid": "SM" + uuid.uuid4().hex,
                "AccountSid": "AC" + "0" * 32,
                "From": phone,
                "To": self.number_of.get(phone, "+33639980000"),  # each resident texts their association
                "Body": body,
                "NumMedia": "0",
                "NumSegments": "1",
            }
        ).encode()

    def next_call(self, now: float) -> Call:
        with self.lock:
            if self.follow_ups and self.follow_ups[0][0] <= now:
                _due, phone, body, route = heapq.heappop(self.follow_ups)
            else:
                phone, body, route = self._new_conversation(now)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return Call(route, "POST", "/sms/inbound", headers, self._form(phone, body))

    def _new_conversation(self, now: float) -> tuple[str, str, str]:
        resident = self.residents[self.next_resident % len(self.residents)]
        self.next_resident += 1
        rng = self.rng
        if rng.random() < 0.1:
            return resident["phone"], rng.choice(OTHERS), "sms: other (merci, AIDE…)"
        body = rng.choice(REQUESTS[resident["dept"]]).format(
            day=rng.choice(WEEKDAYS), hour=rng.choice((8, 9, 10, 11, 14, 15))
        )
        heapq.heappush(
            self.follow_ups,
            (
                now + rng.uniform(2, 5),
                resident["phone"],
                rng.choice(("OUI", "1", "oui merci")),
                "sms: answer OUI/1",
            ),
        )
        if rng.random() < 0.2:
            heapq.heappush(
                self.follow_ups, (now + rng.uniform(8, 15), resident["phone"], "ANNULER", "sms: ANNULER")
            )
        return resident["phone"], body, "sms: request in words"


class VoiceTraffic:
    """Calls to the association's number: the greeting, then a key 2 to 4 s later (Twilio's Gather action).

    Mostly residents (known numbers), some strangers; keys 1 (next trips), 9 (repeat), 3 (a person:
    a voice message outside office hours).
    """

    def __init__(self, fixture: dict[str, Any], rng: random.Random) -> None:
        self.rng = rng
        self.phones = [r["phone"] for r in fixture["residents"]]
        self.follow_ups: list[tuple[float, str, str, str]] = []  # (due, call sid, caller, key)
        self.lock = threading.Lock()

    @staticmethod
    def _form(sid: str, caller: str, **extra: str) -> bytes:
        fields = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": caller, "To": "+33639980000"}
        return urlencode({**fields, "CallStatus": "in-progress", **extra}).encode()

    def next_call(self, now: float) -> Call:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        with self.lock:
            if self.follow_ups and self.follow_ups[0][0] <= now:
                _due, sid, caller, key = heapq.heappop(self.follow_ups)
                route = {"1": "voice: key 1 (trips)", "3": "voice: key 3 (a person)", "9": "voice: key 9"}[
                    key
                ]
                return Call(
                    route, "POST", "/voice/inbound/menu", headers, self._form(sid, caller, Digits=key)
                )
            sid = "CA" + uuid.uuid4().hex
            stranger = self.rng.random() < 0.1
            caller = f"+3356{self.rng.randrange(10**7):07d}" if stranger else self.rng.choice(self.phones)
            key = "3" if stranger else self.rng.choice("1119133")
            heapq.heappush(self.follow_ups, (now + self.rng.uniform(2, 4), sid, caller, key))
        return Call("voice: call /voice/inbound", "POST", "/voice/inbound", headers, self._form(sid, caller))


class PageTraffic:
    """Driver pages, API calls and dashboard pages of logged-in users, picked at random."""

    def __init__(
        self,
        drivers: list[dict[str, Any]],
        coordinator_cookies: list[str],
        names: list[str],
        rng: random.Random,
    ) -> None:
        self.drivers, self.coordinators, self.names, self.rng = drivers, coordinator_cookies, names, rng
        self.lock = threading.Lock()

    def driver_call(self, _now: float) -> Call:
        with self.lock:
            driver = self.rng.choice(self.drivers)
            pick = self.rng.random()
            offer = self.rng.choice(driver["offers"]) if driver["offers"] else None
        headers = {"Cookie": driver["cookie"]}
        if pick < 0.45:
            return Call("driver: Mes trajets /conducteurs/", "GET", "/conducteurs/", headers)
        if pick < 0.7 or offer is None:
            return Call("driver: nouveau trajet (form)", "GET", "/conducteurs/trajets/nouveau", headers)
        return Call(
            "driver: trajet /conducteurs/trajets/<id>", "GET", f"/conducteurs/trajets/{offer}", headers
        )

    def api_call(self, _now: float) -> Call:
        with self.lock:
            driver = self.rng.choice(self.drivers)
            pick = self.rng.random()
            offer = self.rng.choice(driver["offers"]) if driver["offers"] else None
            query = self.rng.choice(("cah", "fig", "hop", "argen", "gourd"))
        headers = {"Authorization": f"Bearer {driver['token']}", "Accept": "application/json"}
        if pick < 0.25:
            return Call("api: GET /api/v1/offers", "GET", "/api/v1/offers", headers)
        if pick < 0.5:
            return Call("api: GET /api/v1/matches", "GET", "/api/v1/matches", headers)
        if pick < 0.65:
            return Call("api: GET /api/v1/me", "GET", "/api/v1/me", headers)
        if pick < 0.8 or offer is None:
            return Call("api: GET /api/v1/places?q=", "GET", f"/api/v1/places?q={query}", headers)
        return Call("api: GET /api/v1/offers/<id>", "GET", f"/api/v1/offers/{offer}", headers)

    def dashboard_call(self, _now: float) -> Call:
        with self.lock:
            cookie = self.rng.choice(self.coordinators)
            pick = self.rng.random()
            name = self.rng.choice(self.names)[:6]
        headers = {"Cookie": cookie}
        if pick < 0.35:
            return Call("dashboard: Aujourd'hui /coordination/", "GET", "/coordination/", headers)
        if pick < 0.6:
            return Call("dashboard: Sans solution", "GET", "/coordination/sans-solution", headers)
        if pick < 0.75:
            return Call("dashboard: Chiffres", "GET", "/coordination/chiffres", headers)
        return Call("dashboard: Habitants ?q=", "GET", f"/coordination/habitants?q={name}", headers)


# --- scheduling ----------------------------------------------------------------------------


def schedule(
    name: str,
    rate: float,
    make: Callable[[float], Call],
    until: float,
    pool: ThreadPoolExecutor,
    run_one: Callable[[Call, float], None],
    poisson: bool,
    rng: random.Random,
    pending: list[tuple[Future[None], Call, float]],
) -> threading.Thread:
    """A thread that submits ``rate`` requests per second until ``until`` (fixed or Poisson gaps)."""

    def loop() -> None:
        moment = time.perf_counter()
        while moment < until:
            delay = moment - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            call = make(moment)
            pending.append((pool.submit(run_one, call, moment), call, moment))
            moment += rng.expovariate(rate) if poisson else 1 / rate

    thread = threading.Thread(target=loop, name=name, daemon=True)
    if rate > 0:
        thread.start()
    return thread


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--sms-rate", type=float, default=50)
    parser.add_argument("--driver-rate", type=float, default=8)
    parser.add_argument("--api-rate", type=float, default=8)
    parser.add_argument("--dashboard-rate", type=float, default=2)
    parser.add_argument("--voice-rate", type=float, default=10, help="calls per second (each: 2 requests)")
    parser.add_argument("--drivers", type=int, default=40, help="driver accounts that log in")
    parser.add_argument("--threads", type=int, default=96)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain", type=float, default=45, help="seconds to wait for late answers")
    args = parser.parse_args()
    parts = urlsplit(args.base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    fixture = json.loads(Path(args.fixture).read_text(encoding="utf-8"))
    rng = random.Random(args.seed)

    started = time.perf_counter()
    drivers = [
        {**d, "cookie": log_in(host, port, "/conducteurs", d["email"], fixture["password"])}
        for d in fixture["drivers"][: args.drivers]
    ]
    # One dashboard session per association; one log-in per account, as a TOTP code works once and a
    # second log-in within the same 30 s step would be refused as a replay.
    admins = fixture.get("coordinator_emails") or [fixture["coordinator_email"]] * 2
    sessions = {
        email: log_in(
            host,
            port,
            "/coordination",
            email,
            fixture["password"],
            fixture.get("coordinator_totp_secret", ""),
        )
        for email in dict.fromkeys(admins)
    }
    coordinators = [sessions[email] for email in admins]
    login_seconds = time.perf_counter() - started

    begin = time.perf_counter() + 0.2
    measure_from, until = begin + args.warmup, begin + args.warmup + args.duration
    recorder = Recorder(measure_from)

    def run_one(call: Call, scheduled: float) -> None:
        sent = time.perf_counter()
        error = None
        try:
            status, data, _response = perform(host, port, call)
            if status != call.expect:
                error = f"HTTP {status}: {data[:120]!r}"
        except Exception as exc:  # counted, never fatal: the run must finish and report
            error = f"{type(exc).__name__}: {exc}"
        recorder.add(call.route, scheduled, sent, time.perf_counter(), error)

    sms = SmsTraffic(fixture, rng)
    pages = PageTraffic(drivers, coordinators, fixture["resident_names"], rng)
    voice = VoiceTraffic(fixture, rng)
    classes = (
        ("sms", args.sms_rate, sms.next_call, False),
        ("driver", args.driver_rate, pages.driver_call, True),
        ("api", args.api_rate, pages.api_call, True),
        ("dashboard", args.dashboard_rate, pages.dashboard_call, True),
        ("voice", args.voice_rate * 2, voice.next_call, False),  # a call and its key press
    )
    recorder.until = until
    pending: list[tuple[Future[None], Call, float]] = []
    pool = ThreadPoolExecutor(args.threads)
    while time.perf_counter() < begin:
        time.sleep(0.01)
    threads = [
        schedule(name, rate, make, until, pool, run_one, poisson, random.Random(rng.random()), pending)
        for name, rate, make, poisson in classes
    ]
    for thread in threads:
        if thread.is_alive():
            thread.join()
    # An overloaded server leaves a queue behind: wait for it at most --drain seconds, then
    # count what was never sent as errors (the run stays bounded in time).
    wait([f for f, _c, _s in pending], timeout=max(0.0, until + args.drain - time.perf_counter()))
    abandoned = time.perf_counter()
    for future, call, scheduled in pending:
        if future.cancel():
            recorder.add(
                call.route, scheduled, abandoned, abandoned, f"not sent within {args.drain:g} s of the end"
            )
    pool.shutdown(wait=True)
    finished = time.perf_counter()

    routes = {}
    for route, values in sorted(recorder.latencies.items()):
        routes[route] = {
            "requests": len(values),
            "errors": len(recorder.errors[route]),
            "error_samples": recorder.errors[route][:3],
            "rate": recorder.completed_in_window[route] / args.duration,
            "p50": percentile(values, 0.50),
            "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99),
            "max": max(values),
        }
    sms_count = sum(recorder.completed_in_window[name] for name in routes if name.startswith("sms:"))
    result = {
        "duration": args.duration,
        "warmup": args.warmup,
        "rates": {name: rate for name, rate, _m, _p in classes},
        "routes": routes,
        "sms_achieved_rate": sms_count / args.duration,
        "generator_lag_p99_ms": percentile(recorder.lag, 0.99),
        "drain_seconds": finished - until,
        "login_seconds": login_seconds,
        "logins": len(drivers) + 1,
        "answered_total": recorder.answered + 2 * (len(drivers) + 1),
    }
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(result, out, indent=1)


if __name__ == "__main__":
    main()

"""A local stand-in for Twilio's Messages and Calls APIs, for the real twilio client to talk to.

Serves ``POST`` and ``GET /2010-04-01/Accounts/<sid>/Messages.json`` (and ``Calls.json``:
a placed call is only recorded; tests/support/voicekit.py plays the phone that rings) on
127.0.0.1 in a thread, checks Basic auth, records every accepted message and
can be told to misbehave (429, 500, a 400 with a Twilio error code, or a hang)
for the next requests. Tests point ``TwilioBackend`` at ``fake.base_url``.

    with FakeTwilio() as fake:
        fake.fail_next(2, status=429)
        fake.hang_next(1, seconds=1.0)   # accepts, then answers too late
        fake.go_down()                   # every request answers 503 until come_back()
        fake.hold_answers(1)             # accepts, then keeps the answer until released:
        held = fake.next_held(timeout=10)  # the crash window, held open for a SIGKILL
        held.release()
        ...
        assert len(fake.messages) == 1
"""

from __future__ import annotations

import queue
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
#: A held answer is sent after this long anyway: a test that forgot one must not hang the server.
HOLD_LIMIT_SECONDS = 30.0


@dataclass
class Misbehaviour:
    status: int = 500
    code: int | None = None
    message: str = ""
    hang_seconds: float = 0.0
    accept: bool = False  # for a hang: record the message before answering late


@dataclass(eq=False)
class HeldAnswer:
    """A create the fake has accepted (recorded) but not yet answered: the client's crash window.

    ``client_port`` is the client's end of the connection, which tells the process being served.
    """

    sid: str
    status_callback: str | None
    client_port: int
    _released: threading.Event = field(default_factory=threading.Event, repr=False)

    def release(self) -> None:
        """Let the answer go (to a client that may be dead by now)."""
        self._released.set()

    def _wait(self) -> None:
        self._released.wait(HOLD_LIMIT_SECONDS)


@dataclass
class FakeTwilio:
    """Twilio's Messages resource, just enough of it; thread-safe."""

    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    delay_seconds: float = 0.0  # added to every POST before it is accepted, to widen windows in crash tests
    #: Added after a message is accepted, before the answer: the window in which a crash leaves a
    #: message sent but unrecorded, which only reconciliation can tell.
    answer_delay_seconds: float = 0.0
    #: Numbers a call may leave from (the account's numbers and verified caller ids); None: any.
    caller_ids: set[str] | None = None

    def __post_init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        #: Voice messages' audio by RecordingSid, served as ``Recordings/<sid>.mp3``.
        self.recordings: dict[str, bytes] = {}
        self.calls: list[dict[str, Any]] = []
        self.requests: dict[str, int] = {"POST": 0, "GET": 0}
        self._script: deque[Misbehaviour] = deque()
        self._lock = threading.Lock()
        self._down = False
        self._holds_wanted = 0
        self._held: queue.Queue[HeldAnswer] = queue.Queue()
        self._holding: list[HeldAnswer] = []
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # --- scripting ---------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 500, code: int | None = None, message: str = ""
    ) -> None:
        """The next ``count`` POSTs fail with ``status`` (and a Twilio error ``code``)."""
        with self._lock:
            self._script.extend(Misbehaviour(status, code, message) for _ in range(count))

    def hang_next(self, count: int = 1, *, seconds: float, accept: bool = True) -> None:
        """The next ``count`` POSTs answer only after ``seconds``; ``accept`` records them first."""
        with self._lock:
            self._script.extend(Misbehaviour(201, hang_seconds=seconds, accept=accept) for _ in range(count))

    def hold_answers(self, count: int = 1) -> None:
        """The next ``count`` accepted creates keep their answer until released (``next_held``).

        Deterministic where ``answer_delay_seconds`` is a chance: a test can kill the client
        while the message or call is at the provider and the client does not know it yet.
        """
        with self._lock:
            self._holds_wanted += count

    def next_held(self, timeout: float) -> HeldAnswer | None:
        """The next held create, as soon as it is accepted; None if none came within ``timeout``."""
        try:
            return self._held.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop_holding(self) -> None:
        """No more holds, every answer still held goes out, and none is left for ``next_held``."""
        with self._lock:
            self._holds_wanted = 0
            holding, self._holding = self._holding, []
            while not self._held.empty():
                self._held.get_nowait()
        for held in holding:
            held.release()

    def go_down(self) -> None:
        """An outage: every POST and GET answers 503 and nothing is recorded, until ``come_back``."""
        with self._lock:
            self._down = True

    def come_back(self) -> None:
        with self._lock:
            self._down = False

    def bodies(self) -> list[str]:
        with self._lock:
            return [m["body"] for m in self.messages]

    # --- serving -----------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTwilio:
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_holding()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _app(self) -> Flask:
        app = Flask("fake_twilio")
        route = "/2010-04-01/Accounts/<account_sid>/Messages.json"
        app.add_url_rule(route, "create", self._create, methods=["POST"])
        app.add_url_rule(route, "list", self._list, methods=["GET"])
        recording = "/2010-04-01/Accounts/<account_sid>/Recordings/<recording_sid>.mp3"
        app.add_url_rule(recording, "recording", self._recording, methods=["GET"])
        resource = "/2010-04-01/Accounts/<account_sid>/Recordings/<recording_sid>.json"
        app.add_url_rule(resource, "delete_recording", self._delete_recording, methods=["DELETE"])
        calls = "/2010-04-01/Accounts/<account_sid>/Calls.json"
        app.add_url_rule(calls, "call", self._create_call, methods=["POST"])
        app.add_url_rule(calls, "calls", self._list_calls, methods=["GET"])
        return app

    # --- the API -----------------------------------------------------------------

    def _authorised(self, account_sid: str) -> bool:
        auth = request.authorization
        return (
            auth is not None
            and auth.username == self.account_sid
            and auth.password == self.auth_token
            and account_sid == self.account_sid
        )

    def _recording(self, account_sid: str, recording_sid: str) -> tuple[Response, int]:
        if self._down:
            return _error(503, 20500, "Service unavailable")
        if not self._authorised(account_sid):
            return _error(401, 20003, "Authenticate")
        audio = self.recordings.get(recording_sid)
        if audio is None:
            return _error(404, 20404, "The requested resource was not found")
        return Response(audio, mimetype="audio/mpeg"), 200

    def _delete_recording(self, account_sid: str, recording_sid: str) -> tuple[Response, int]:
        if self._down:
            return _error(503, 20500, "Service unavailable")
        if not self._authorised(account_sid):
            return _error(401, 20003, "Authenticate")
        if self.recordings.pop(recording_sid, None) is None:
            return _error(404, 20404, "The requested resource was not found")
        return Response("", status=204), 204

    def _create(self, account_sid: str) -> tuple[Response, int]:
        form = request.form
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not sender:
            problem = (21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        elif not form.get("Body"):
            problem = (21602, "Message body is required.")
        else:
            problem = None
        return self._post(
            account_sid,
            problem,
            lambda: _resource(self._accept(account_sid, form.get("To", ""), form.get("Body", ""), form)),
        )

    def _post(
        self, account_sid: str, problem: tuple[int, str] | None, accept: Callable[[], dict[str, Any]]
    ) -> tuple[Response, int]:
        """A create, as Twilio answers it: outage, auth, ``problem`` (a 400), script, then ``accept``."""
        with self._lock:
            self.requests["POST"] += 1
            down = self._down
        if down:
            return _error(503, 20503, "Service Unavailable")
        if not self._authorised(account_sid):
            return _error(401, 20003, "Authenticate")
        if problem is not None:
            return _error(400, *problem)
        to = request.form.get("To", "")
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        with self._lock:
            script = self._script.popleft() if self._script else None
        if script is not None and not script.hang_seconds:
            code = script.code or {429: 20429, 500: 20500, 503: 20503}.get(script.status, script.status)
            return _error(script.status, code, script.message or "Scripted failure")
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if script is not None and not script.accept:
            time.sleep(script.hang_seconds)
            return _error(504, 20500, "Gateway timeout")
        resource = accept()
        if script is not None:
            time.sleep(script.hang_seconds)
        self._hold_if_asked(resource["sid"])
        if self.answer_delay_seconds:
            time.sleep(self.answer_delay_seconds)
        return jsonify(resource), 201

    def _hold_if_asked(self, sid: str) -> None:
        """Keep this answer until the test releases it, when ``hold_answers`` asked for it."""
        with self._lock:
            if not self._holds_wanted:
                return
            self._holds_wanted -= 1
            held = HeldAnswer(sid, request.form.get("StatusCallback"), int(request.environ["REMOTE_PORT"]))
            self._holding.append(held)
            self._held.put(held)  # under the lock: stop_holding leaves none behind
        held._wait()
        with self._lock:
            if held in self._holding:
                self._holding.remove(held)

    def _accept(self, account_sid: str, to: str, body: str, form: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        message = {
            "sid": "SM" + secrets.token_hex(16),
            "account_sid": account_sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status_callback": form.get("StatusCallback"),
            "created": now,
        }
        with self._lock:
            self.messages.append(message)
        return message

    def _list(self, account_sid: str) -> tuple[Response, int]:
        return self._listing(account_sid, self.messages, "DateSent", "messages", _resource)

    def _listing(
        self,
        account_sid: str,
        records: list[dict[str, Any]],
        date_filter: str,
        name: str,
        shape: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> tuple[Response, int]:
        """A list filtered by ``To`` and ``<date_filter>>``/``<``, newest first, like Twilio."""
        with self._lock:
            self.requests["GET"] += 1
            found = list(records)
            down = self._down
        if down:
            return _error(503, 20503, "Service Unavailable")
        if not self._authorised(account_sid):
            return _error(401, 20003, "Authenticate")
        args = request.args
        if to := args.get("To"):
            found = [r for r in found if r["to"] == to]
        if after := args.get(f"{date_filter}>"):
            found = [r for r in found if r["created"] >= _parse_date(after)]
        if before := args.get(f"{date_filter}<"):
            found = [r for r in found if r["created"] <= _parse_date(before)]
        return _page(name, [shape(r) for r in reversed(found)])

    # --- calls -------------------------------------------------------------------

    def call_sids(self) -> list[str]:
        with self._lock:
            return [c["sid"] for c in self.calls]

    def _create_call(self, account_sid: str) -> tuple[Response, int]:
        """``calls.create``: the same scripted failures, hangs and outages as messages."""
        form = request.form
        if not form.get("From"):
            problem: tuple[int, str] | None = (21213, "No 'From' number is specified")
        elif not form.get("Url") and not form.get("Twiml"):
            problem = (21205, "Url parameter is required.")
        elif self.caller_ids is not None and form["From"] not in self.caller_ids:
            problem = (21210, "The source phone number provided is not yet verified for your account.")
        else:
            problem = None
        return self._post(account_sid, problem, lambda: _call_resource(self._place(account_sid, form)))

    def _place(self, account_sid: str, form: Any) -> dict[str, Any]:
        call = {
            "sid": "CA" + secrets.token_hex(16),
            "account_sid": account_sid,
            "to": form.get("To", ""),
            "from": form.get("From"),
            "url": form.get("Url", ""),
            "method": form.get("Method", "POST"),
            "status_callback": form.get("StatusCallback"),
            "machine_detection": form.get("MachineDetection"),
            "created": datetime.now(UTC),
            "status": "queued",
        }
        with self._lock:
            self.calls.append(call)
        return call

    def _list_calls(self, account_sid: str) -> tuple[Response, int]:
        return self._listing(account_sid, self.calls, "StartTime", "calls", _call_resource)


def _page(name: str, resources: list[dict[str, Any]]) -> tuple[Response, int]:
    """One page of a list, the whole of it (``PageSize`` at most), as Twilio shapes it."""
    size = int(request.args.get("PageSize", 50))
    page = resources[:size]
    uri = request.full_path
    return jsonify(
        {
            name: page,
            "page": 0,
            "page_size": size,
            "start": 0,
            "end": max(len(page) - 1, 0),
            "uri": uri,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
        }
    ), 200


def _call_resource(call: dict[str, Any]) -> dict[str, Any]:
    created = _rfc2822(call["created"])
    return {
        "sid": call["sid"],
        "account_sid": call["account_sid"],
        "to": call["to"],
        "from": call["from"],
        "status": call["status"],
        "direction": "outbound-api",
        "answered_by": None,
        "start_time": None,
        "end_time": None,
        "duration": None,
        "price": None,
        "price_unit": "EUR",
        "date_created": created,
        "date_updated": created,
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{call['account_sid']}/Calls/{call['sid']}.json",
        "subresource_uris": {},
    }


def _parse_date(text: str) -> datetime:
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rfc2822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _resource(message: dict[str, Any]) -> dict[str, Any]:
    created = _rfc2822(message["created"])
    return {
        "sid": message["sid"],
        "account_sid": message["account_sid"],
        "to": message["to"],
        "from": message["from"],
        "messaging_service_sid": message["messaging_service_sid"],
        "body": message["body"],
        "status": "queued",
        "direction": "outbound-api",
        "num_segments": "1",
        "num_media": "0",
        "price": None,
        "price_unit": "EUR",
        "error_code": None,
        "error_message": None,
        "date_created": created,
        "date_updated": created,
        "date_sent": created,
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{message['account_sid']}/Messages/{message['sid']}.json",
        "subresource_uris": {},
    }


def _error(status: int, code: int, message: str) -> tuple[Response, int]:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return jsonify(body), status

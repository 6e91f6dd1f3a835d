"""Where SMS and calls actually leave: a console for development, Twilio for real.

This is the only module that imports twilio, and only inside ``TwilioBackend``,
so the ``carpool`` command starts without loading it. Backends classify every
failure as transient (retry later) or permanent (a coordinator must look), which
is all the dispatcher needs to know about a provider.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol, TextIO
from urllib.parse import unquote

from carpool.config import TWILIO_API, positive_number, sms_backend
from carpool.errors import StartupError
from carpool.notify.privacy import mask, mask_text

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0

# Twilio answers these with a 4xx: retrying cannot help (invalid number, landline,
# the person texted STOP). Every other 4xx is permanent too, except 429.
INVALID_NUMBER, NOT_A_MOBILE, OPTED_OUT = "21211", "21614", "21610"
#: A call's From that is neither the account's number nor a verified caller id, or not a number.
CALLER_ID_REFUSED = frozenset({"21210", "21212"})


class TransientSendError(Exception):
    """The provider may accept the same message later (rate limit, 5xx, timeout, network)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PermanentSendError(Exception):
    """The provider will never accept this message as it is (e.g. 21211 invalid number)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SmsBackend(Protocol):
    """What the dispatcher needs from a provider."""

    #: Longest time ``send`` may block; the dispatcher's lease must be longer.
    timeout_seconds: float

    def send(self, to: str, body: str, status_callback: str | None, sender: str | None = None) -> str:
        """Hand one SMS to the provider and return its id (SID); raise a ``*SendError``.

        ``sender``: the association's own number (E.164), so that a resident's answer goes
        back to the association that wrote; None: the configured default sender.
        """
        ...

    def find_sent(self, to: str, body: str, since: datetime) -> list[str]:
        """Ids of messages already accepted for ``to`` with this exact body since ``since``.

        Used before re-sending a message whose previous attempt ended without an
        answer (timeout, crash): the provider's record is the only truth then.
        """
        ...

    def call(self, to: str, url: str, status_callback: str, caller_id: str | None = None) -> str:
        """Place one call whose TwiML is at ``url``; return its id (CallSid); raise a ``*SendError``.

        ``caller_id``: the association's own line (E.164), so that a resident who calls back
        reaches that association's menu; None: the configured ``VOICE_FROM`` (or ``TWILIO_FROM``).
        """
        ...

    def find_calls(self, to: str, since: datetime) -> list[str]:
        """Ids of calls already placed to ``to`` since ``since``, oldest first (reconciliation)."""
        ...


class ConsoleBackend:
    """Prints one masked line per SMS: the outbox row is the record, nothing else is kept."""

    timeout_seconds = 1.0

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, to: str, body: str, status_callback: str | None, sender: str | None = None) -> str:
        sid = f"console-{uuid.uuid4().hex}"
        print(f"[sms console] {mask(to)} ← {len(body)} caractères ({sid})", file=self.stream or sys.stdout)
        return sid

    def find_sent(self, to: str, body: str, since: datetime) -> list[str]:
        return []

    def call(self, to: str, url: str, status_callback: str, caller_id: str | None = None) -> str:
        sid = f"console-call-{uuid.uuid4().hex}"
        print(f"[appel console] {mask(to)} ← {url} ({sid})", file=self.stream or sys.stdout)
        return sid

    def find_calls(self, to: str, since: datetime) -> list[str]:
        return []


class TwilioBackend:
    """Twilio's Messages API through the official client (``TWILIO_API_BASE_URL`` for a fake)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str = "",
        messaging_service_sid: str = "",
        api_base_url: str = TWILIO_API,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        voice_from: str = "",
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("from_number or messaging_service_sid is required")
        self.from_number = from_number
        self.voice_from = voice_from or from_number
        self.messaging_service_sid = messaging_service_sid
        self.timeout_seconds = timeout_seconds
        self.client = _twilio_client(account_sid, auth_token, api_base_url, timeout_seconds)

    def send(self, to: str, body: str, status_callback: str | None, sender: str | None = None) -> str:
        origin: dict[str, Any] = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number}
        )
        if sender:  # one of the account's numbers (in the messaging service's pool, if there is one)
            origin["from_"] = sender
        if status_callback:
            origin["status_callback"] = status_callback
        with _classified_errors():
            message = self.client.messages.create(to=to, body=body, **origin)
        return str(message.sid)

    def find_sent(self, to: str, body: str, since: datetime) -> list[str]:
        # Two lists: messages still queued at Twilio may have no date_sent yet and
        # could escape the DateSent filter, so the newest ones for ``to`` are added.
        with _classified_errors():
            found = self.client.messages.list(to=to, date_sent_after=since, limit=50)
            found += self.client.messages.list(to=to, limit=20)
        return _sids_since([m for m in found if m.body == body], since)

    def call(self, to: str, url: str, status_callback: str, caller_id: str | None = None) -> str:
        origin = caller_id or self.voice_from
        if not origin:
            raise PermanentSendError(
                "no-caller-id", "ni ligne de l'association, ni VOICE_FROM ou TWILIO_FROM pour appeler"
            )
        try:
            return self._place_call(to, url, status_callback, origin)
        except PermanentSendError as refused:
            # A line Twilio doesn't carry (the office's own landline) is refused as caller id
            # before any call is placed: the notice still goes, from VOICE_FROM.
            if refused.code not in CALLER_ID_REFUSED or not self.voice_from or origin == self.voice_from:
                raise
            log.warning(
                "ligne %s refusée comme numéro appelant (%s) : appel depuis VOICE_FROM",
                mask(origin),
                refused.code,
            )
            return self._place_call(to, url, status_callback, self.voice_from)

    def _place_call(self, to: str, url: str, status_callback: str, origin: str) -> str:
        with _classified_errors():
            placed = self.client.calls.create(
                to=to,
                from_=origin,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=["completed"],
                # Synchronous detection: AnsweredBy comes with the first webhook, before anything is said.
                machine_detection="Enable",
                timeout=30,
            )
        return str(placed.sid)

    def find_calls(self, to: str, since: datetime) -> list[str]:
        # Calls carry nothing of ours but their number and time: the caller keeps one call
        # per number in flight, so any call since the first attempt is this row's.
        with _classified_errors():
            found = self.client.calls.list(to=to, start_time_after=since, limit=50)
            found += self.client.calls.list(to=to, limit=20)
        return _sids_since(found, since)


def _sids_since(found: list[Any], since: datetime) -> list[str]:
    """The SIDs of ``found`` (messages or calls) created since ``since``, oldest first, once each."""
    sids: list[str] = []
    for record in sorted(found, key=lambda r: r.date_created or since):
        created = record.date_created
        if (created is None or created >= since) and record.sid not in sids:
            sids.append(str(record.sid))
    return sids


@contextmanager
def _classified_errors() -> Iterator[None]:
    """Translate twilio/requests exceptions into Transient/PermanentSendError."""
    from requests.exceptions import RequestException
    from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

    try:
        yield
    except (TwilioRestException, TwilioServiceException) as exc:
        status = int(exc.status or 0)
        code = str(exc.code or status)
        detail = mask_text(str(getattr(exc, "msg", "") or getattr(exc, "detail", "") or f"HTTP {status}"))
        if status == 429 or status >= 500:
            raise TransientSendError(code, detail) from exc
        raise PermanentSendError(code, detail) from exc
    except TwilioException as exc:
        # A list page answered other than 200 ("Unable to fetch page") carries the HTTP response.
        response = exc.args[1] if len(exc.args) > 1 else None
        status = int(getattr(response, "status_code", 0) or 0)
        detail = mask_text(f"{exc.args[0] if exc.args else 'Twilio'} (HTTP {status})")
        if status == 429 or status >= 500 or status == 0:
            raise TransientSendError(str(status or "twilio"), detail) from exc
        raise PermanentSendError(str(status), detail) from exc
    except RequestException as exc:
        # A read timeout may hide a message Twilio accepted: the retry reconciles first.
        # Its text may quote the request URL, with the number percent-encoded in the query.
        raise TransientSendError(type(exc).__name__[:20], mask_text(unquote(str(exc)))[:300]) from exc


def _twilio_client(account_sid: str, auth_token: str, api_base_url: str, timeout: float) -> Any:
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    base = api_base_url.rstrip("/")

    class RebasedHttpClient(TwilioHttpClient):
        """Sends requests for api.twilio.com to ``base`` (a local fake, a proxy)."""

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if base != TWILIO_API and url.startswith(TWILIO_API):
                url = base + url[len(TWILIO_API) :]
            return super().request(method, url, *args, **kwargs)

    # The client logs query strings (numbers in clear) at INFO: keep it quiet.
    quiet = logging.getLogger("carpool.notify.twilio_http")
    quiet.setLevel(logging.WARNING)
    http_client = RebasedHttpClient(timeout=timeout, logger=quiet)
    return Client(account_sid, auth_token, http_client=http_client)


# --- configuration -------------------------------------------------------------


def backend_from_config(config: Mapping[str, Any]) -> SmsBackend:
    """The backend ``SMS_BACKEND`` names; a ``StartupError`` sentence when Twilio is half-configured.

    ``config`` is the app's config (see ``carpool.config.Settings``), values already checked
    unless a test overrides them.
    """
    if sms_backend(str(config.get("SMS_BACKEND") or "console")) == "console":
        return ConsoleBackend()
    missing = [key for key in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not config.get(key)]
    if not (config.get("TWILIO_FROM") or config.get("TWILIO_MESSAGING_SERVICE_SID")):
        missing.append("TWILIO_FROM ou TWILIO_MESSAGING_SERVICE_SID")
    if missing:
        raise StartupError(f"SMS_BACKEND=twilio demande aussi : {', '.join(missing)}.")
    return TwilioBackend(
        str(config["TWILIO_ACCOUNT_SID"]),
        str(config["TWILIO_AUTH_TOKEN"]),
        from_number=str(config.get("TWILIO_FROM") or ""),
        messaging_service_sid=str(config.get("TWILIO_MESSAGING_SERVICE_SID") or ""),
        api_base_url=str(config.get("TWILIO_API_BASE_URL") or TWILIO_API),
        timeout_seconds=number_setting(config, "SMS_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
        voice_from=str(config.get("VOICE_FROM") or ""),
    )


def number_setting(config: Mapping[str, Any], name: str, default: float) -> float:
    """A positive number from the config (``default`` if absent), or a StartupError sentence."""
    value = config.get(name)
    return positive_number(name, default if value in (None, "") else value)


def reconcile_window(first_attempt_at: datetime) -> datetime:
    """Where to start looking for an earlier attempt: the first one, less clock skew."""
    return first_attempt_at - timedelta(minutes=2)

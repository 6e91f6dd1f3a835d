"""Phone calls as Twilio makes them, for the tests.

Calls to the association's number: signed form posts, TwiML read back (``ring``, ``Call``).

The phone that rings when the fake Twilio places a call, and a checker of TwiML.

``Phone`` plays Twilio's side of a call against the app (a Flask test client): it
fetches the call's TwiML as Twilio would (signed when a token is given), presses
keys or speaks on each ``<Gather>``, is an answering machine, never answers or is
busy, then posts the final status to the call's status callback.

``check_twiml`` parses a document and checks it against Twilio's verbs and their
attributes, so a typo ("numdigits"), a verb in the wrong place or a missing
French ``language`` fails the test.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

#: The auth token of the apps these tests build (``voice_app``): every request is signed with it.
TOKEN = "0123456789abcdef0123456789abcdef"
#: The association's line as Twilio posts it in "To" (add_association's phone, 05 39 98 00 01).
LINE = "+33539980001"
_calls = itertools.count(1)


def new_call_sid() -> str:
    return f"CA{next(_calls):032d}"


def signed(client, path: str, form: dict[str, str], *, token: str = TOKEN):
    """POST ``form`` to ``path`` with the signature Twilio would compute for it."""
    url = "http://localhost" + path
    signature = RequestValidator(token).compute_signature(url, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


@dataclass
class Call:
    """One call in progress: its SID and the last TwiML answered."""

    client: object
    sid: str
    caller: str
    twiml: ET.Element | None = None

    def post(self, path: str, **fields: str) -> ET.Element:
        response = signed(self.client, path, {"CallSid": self.sid, "From": self.caller, "To": LINE, **fields})
        assert response.status_code == 200, response.status_code
        assert response.mimetype == "application/xml"
        self.twiml = ET.fromstring(response.data)  # noqa: S314 - our own TwiML
        return self.twiml

    def press(self, digits: str = "", speech: str = "") -> ET.Element:
        """Answer the current <Gather> (keypad or speech) by posting to its action."""
        gather = self.gather()
        form = {"Digits": digits} if digits else {}
        if speech:
            form["SpeechResult"] = speech
        return self.post(gather.get("action") or "", **form)

    def gather(self) -> ET.Element:
        assert self.twiml is not None
        gather = self.twiml.find("Gather")
        assert gather is not None, ET.tostring(self.twiml)
        return gather

    def spoken(self) -> str:
        """Everything said in the last answer, as one text."""
        assert self.twiml is not None
        return " ".join("".join(say.itertext()) for say in self.twiml.iter("Say"))


def ring(client, caller: str, *, sid: str | None = None, to: str = LINE) -> Call:
    """A call from ``caller`` to the association's line, answered by ``/voice/inbound``."""
    call = Call(client, sid or new_call_sid(), caller)
    response = signed(client, "/voice/inbound", {"CallSid": call.sid, "From": caller, "To": to})
    assert response.status_code == 200, response.status_code
    call.twiml = ET.fromstring(response.data)  # noqa: S314 - our own TwiML
    return call


def app_with_twilio(db, clock, fake_twilio):
    """The app with the account of the fake Twilio (recordings are fetched from it)."""
    from carpool import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "CLOCK": clock,
            "SECRET_KEY": "test",
            "TWILIO_ACCOUNT_SID": fake_twilio.account_sid,
            "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
            "TWILIO_API_BASE_URL": fake_twilio.base_url,
        }
    )


# --- calls placed to residents (outbound) ---------------------------------------------------

#: Twilio's voice verbs, with the attributes each accepts and the verbs it may hold.
VERBS: dict[str, tuple[set[str], set[str]]] = {
    "Response": (set(), {"Say", "Play", "Pause", "Gather", "Dial", "Hangup", "Redirect", "Record", "Reject"}),
    "Say": ({"voice", "language", "loop"}, {"prosody", "break", "emphasis", "lang", "p", "s", "say-as"}),
    "Gather": (
        {
            "action",
            "method",
            "input",
            "language",
            "numDigits",
            "timeout",
            "hints",
            "speechModel",
            "speechTimeout",
            "finishOnKey",
            "actionOnEmptyResult",
            "partialResultCallback",
            "profanityFilter",
            "enhanced",
        },
        {"Say", "Play", "Pause"},
    ),
    "Dial": (
        {"callerId", "timeout", "action", "method", "record", "timeLimit", "answerOnBridge"},
        {"Number"},
    ),
    "Number": ({"sendDigits", "url", "method"}, set()),
    "Pause": ({"length"}, set()),
    "Hangup": (set(), set()),
    "Redirect": ({"method"}, set()),
    "Record": ({"action", "method", "timeout", "maxLength", "playBeep", "finishOnKey", "transcribe"}, set()),
    "prosody": ({"rate", "pitch", "volume"}, set()),
}
SAY_ONLY = {"prosody", "break", "emphasis", "lang", "p", "s", "say-as"}


def check_twiml(document: str) -> ET.Element:
    """The parsed ``<Response>``; AssertionError on anything Twilio would refuse or say in English."""
    root = ET.fromstring(document)  # noqa: S314 (our own app's answer, in a test)
    assert root.tag == "Response", root.tag
    _check(root)
    for element in root.iter():
        if element.tag in ("Say", "Gather"):
            assert element.get("language") == "fr-FR", ET.tostring(element)
        if element.tag == "Say":
            assert element.get("voice") == "Polly.Lea", ET.tostring(element)
            assert "".join(element.itertext()).strip(), "empty <Say>"
        if element.tag == "Gather":
            assert element.get("input") == "dtmf speech" and element.get("numDigits") == "1"
    return root


def _check(element: ET.Element) -> None:
    attributes, children = VERBS[element.tag]
    unknown = set(element.attrib) - attributes
    assert not unknown, f"<{element.tag}> does not take {sorted(unknown)}"
    for child in element:
        assert child.tag in children, f"<{child.tag}> cannot go in <{element.tag}>"
        if child.tag not in SAY_ONLY or child.tag in VERBS:
            _check(child)


def said(root: ET.Element) -> str:
    """Everything the call says, in order, as one string."""
    return " ".join(" ".join(e.itertext()) for e in root.iter("Say"))


@dataclass
class Phone:
    """Twilio's side of calls placed through ``fake``, played against the app's test ``client``."""

    client: Any
    fake: Any
    auth_token: str | None = None  # sign like Twilio when the app checks signatures
    heard: list[ET.Element] = field(default_factory=list)

    def post(self, url: str, form: dict[str, str]) -> Any:
        headers = {}
        if self.auth_token:
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token).compute_signature(url, form)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.client.post(path, data=form, headers=headers, base_url=f"{parts.scheme}://{parts.netloc}")

    def ring(
        self,
        call: dict[str, Any],
        *,
        press: tuple[str, ...] = (),
        speak: tuple[str, ...] = (),
        answered_by: str = "human",
        status: str = "completed",
    ) -> list[ET.Element]:
        """Play one call: pick up (``answered_by``), answer each ``<Gather>``, then the final status.

        ``status`` other than "completed" (no-answer, busy, failed): nobody picks up, only the
        status is posted. Returns the TwiML documents heard, parsed and checked.
        """
        base = {"CallSid": call["sid"], "AccountSid": call["account_sid"], "To": call["to"]}
        base |= {"From": call["from"], "Direction": "outbound-api"}
        heard: list[ET.Element] = []
        if status == "completed":
            answer = self.post(call["url"], base | {"CallStatus": "in-progress", "AnsweredBy": answered_by})
            assert answer.status_code == 200, answer.status_code
            heard.append(check_twiml(answer.get_data(as_text=True)))
            for digits, words in _answers(press, speak):
                gather = heard[-1].find("Gather")
                if gather is None:
                    break
                form = base | {"CallStatus": "in-progress"}
                form |= {"Digits": digits} if digits else {"SpeechResult": words, "Confidence": "0.9"}
                answer = self.post(gather.get("action", ""), form)
                assert answer.status_code == 200, answer.status_code
                heard.append(check_twiml(answer.get_data(as_text=True)))
        final = base | {"CallStatus": status, "CallDuration": "20"}
        if status == "completed":
            final["AnsweredBy"] = answered_by
        ended = self.post(call["status_callback"], final)
        assert ended.status_code in (200, 204), ended.status_code
        self.heard.extend(heard)
        return heard


def _answers(press: tuple[str, ...], speak: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(digits, "") for digits in press] + [("", words) for words in speak]

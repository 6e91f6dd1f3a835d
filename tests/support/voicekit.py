"""Calls to the association's number as Twilio makes them: signed form posts, TwiML read back."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass

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

"""The phone that rings when the fake Twilio places a call, and a checker of TwiML.

``Phone`` plays Twilio's side of a call against the app (a Flask test client): it
fetches the call's TwiML as Twilio would (signed when a token is given), presses
keys or speaks on each ``<Gather>``, is an answering machine, never answers or is
busy, then posts the final status to the call's status callback.

``check_twiml`` parses a document and checks it against Twilio's verbs and their
attributes, so a typo ("numdigits"), a verb in the wrong place or a missing
French ``language`` fails the test.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

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

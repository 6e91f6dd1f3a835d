"""Voice messages' audio, fetched from Twilio for a coordinator who listens on the dashboard.

The URL is built from the account and the recording's SID (never a URL from a request:
no fetching of arbitrary addresses), with the account's credentials, through
``TWILIO_API_BASE_URL`` so tests use the local fake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carpool.config import TWILIO_API

RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
TIMEOUT_S = 10.0
#: The demo's voice messages have no audio at Twilio: their SIDs start so (never hexadecimal).
DEMO_PREFIX = "REdemo"
DEMO_NO_SOUND = "Enregistrement de démonstration : pas de son."


class RecordingUnavailable(Exception):
    """Twilio did not give the audio (deleted, not configured, unreachable)."""


@dataclass(frozen=True)
class Audio:
    content: bytes
    mimetype: str


def demo_recording_sid(call_sid: str) -> str:
    """The RecordingSid of a demo voice message left in ``call_sid``: no Twilio SID looks like it."""
    return f"{DEMO_PREFIX}{call_sid}"[:64]


def is_demo_recording(recording_sid: str) -> bool:
    return recording_sid.startswith(DEMO_PREFIX)


def fetch_recording(
    recording_sid: str, *, account_sid: str, auth_token: str, api_base_url: str = TWILIO_API
) -> Audio:
    """The MP3 of one recording of this account; raises RecordingUnavailable."""
    import requests

    if not RECORDING_SID.match(recording_sid) or not account_sid or not auth_token:
        raise RecordingUnavailable(recording_sid)
    url = f"{api_base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}.mp3"
    try:
        answer = requests.get(url, auth=(account_sid, auth_token), timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise RecordingUnavailable(recording_sid) from exc
    if answer.status_code != 200:
        raise RecordingUnavailable(recording_sid)
    return Audio(answer.content, "audio/mpeg")


def delete_recording(
    recording_sid: str, *, account_sid: str, auth_token: str, api_base_url: str = TWILIO_API
) -> bool:
    """Delete one recording at Twilio; True when it is gone (deleted now, or already)."""
    import requests

    if is_demo_recording(recording_sid):
        return True  # nothing was ever held at Twilio
    if not RECORDING_SID.match(recording_sid) or not account_sid or not auth_token:
        return False
    url = f"{api_base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}.json"
    try:
        answer = requests.delete(url, auth=(account_sid, auth_token), timeout=TIMEOUT_S)
    except requests.RequestException:
        return False
    return answer.status_code in (204, 404)

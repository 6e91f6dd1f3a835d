"""Calls placed to residents: what Twilio asks while the call runs.

``POST /voice/outbound/<id>``            the TwiML of the call for outbox row ``id``
``POST /voice/outbound/<id>/answer``     the keypad or spoken answer (1 oui, 2 non, 9, 0);
                                         ``?option=<k>&proposition=<digest>``: the option read
``POST /voice/status?outbox=<id>``       the call's final status (no answer → called again)

Each checks Twilio's signature like /sms/* (403), then the CallSid against the row's:
a request about another call, an unknown id or missing fields change nothing and get
a TwiML that hangs up (or an empty 204 for a status), never an error page.
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, current_app, request, url_for

from carpool.extensions import db_session
from carpool.notify import twiml
from carpool.notify.budget import ReplyLimits
from carpool.services import voice_calls, voice_options
from carpool.services.voice_options import OptionRef
from carpool.text import display_phone
from carpool.web.voice import bp
from carpool.web.webhooks import from_twilio

MAX_UNCLEAR = 2  # answers not understood before the call says goodbye


def _xml(document: str) -> Response:
    return Response(document, mimetype="application/xml")


def _field(name: str, size: int = 64) -> str:
    return request.form.get(name, "").strip()[:size]


def _now() -> datetime:
    return current_app.extensions["carpool.clock"].now()


def _answer_url(outbox_id: int, tries: int = 0, option: OptionRef | None = None) -> str:
    """Where the Gather posts; the option read rides along, so a late press applies to it alone."""
    return url_for(
        "voice.outbound_answer",
        outbox_id=outbox_id,
        tries=tries or None,
        option=option.number if option else None,
        proposition=option.digest if option else None,
        _external=True,
    )


def _first_option(notice: voice_calls.CallNotice) -> OptionRef | None:
    return OptionRef(1, notice.proposal.digest) if notice.proposal is not None else None


def _option_ref() -> OptionRef | None:
    args = request.args
    return voice_options.option_ref(args.get("option", "")[:4], args.get("proposition", "")[:32])


#: The outbound call's own "a person" key, said after each option's keys.
PERSON_KEY = "Pour parler à une personne, tapez 0."


def _keys(number: int, count: int) -> str:
    return voice_options.keys_said(number, count, repeat_key="9", person=PERSON_KEY)


def _option_twiml(notice: voice_calls.CallNotice, outbox_id: int, number: int, before: list[str]) -> str:
    """Option ``number`` of the notice's proposal, said whole, then its keypad menu (tries start again)."""
    assert notice.proposal is not None
    ref = OptionRef(number, notice.proposal.digest)
    session = db_session()
    text = voice_options.option_text(session, notice.proposal, number)
    keys = _keys(number, notice.proposal.count)
    return twiml.option(before, text, keys, action_url=_answer_url(outbox_id, option=ref))


@bp.post("/outbound/<int:outbox_id>")
def outbound_call(outbox_id: int) -> Response:
    if not from_twilio():
        abort(403)
    session = db_session()
    notice = voice_calls.notice_for_call(
        session, outbox_id, _field("CallSid"), _field("AnsweredBy", 30), _now()
    )
    session.commit()
    if notice is None:
        return _xml(twiml.hang_up())
    if notice.machine:
        # Never a booking by voicemail: ask them to call back.
        return _xml(
            twiml.say_and_hang_up(
                f"Bonjour, ici {notice.association}. Nous avons un message pour vous. "
                f"Merci de nous rappeler{_at_number(notice)}. Au revoir."
            )
        )
    if notice.question is voice_calls.Question.PROPOSAL and notice.proposal is None:
        # Answered by SMS meanwhile, replaced or expired: no stale options read, no key asked.
        return _xml(
            twiml.say_and_hang_up(
                f"Bonjour, ici {notice.association}.",
                voice_options.NO_LONGER_WAITING + _call_us(notice),
                "Au revoir.",
            )
        )
    if notice.several():
        assert notice.proposal is not None
        intro = voice_options.introduction(session, notice.proposal)
        return _xml(_option_twiml(notice, outbox_id, 1, [f"Bonjour, ici {notice.association}.", intro]))
    return _xml(
        twiml.message(
            f"Bonjour, ici {notice.association}.",
            notice.text,
            question=notice.question is not None,
            action_url=_answer_url(outbox_id, option=_first_option(notice)),
        )
    )


def _at_number(notice: voice_calls.CallNotice) -> str:
    """ " au 05 65 12 34 56" when the association has a line, else nothing."""
    phone = notice.association_phone
    return f" au {display_phone(phone)}" if phone else ""


def _call_us(notice: voice_calls.CallNotice) -> str:
    return f" Pour toute question, appelez-nous{_at_number(notice)}." if notice.association_phone else ""


@bp.post("/outbound/<int:outbox_id>/answer")
def outbound_answer(outbox_id: int) -> Response:
    if not from_twilio():
        abort(403)
    session = db_session()
    call_sid = _field("CallSid")
    notice = voice_calls.notice_for_call(session, outbox_id, call_sid, "", _now())
    if notice is None:
        session.rollback()
        return _xml(twiml.hang_up())
    choice = voice_calls.choice_of(_field("Digits", 8), request.form.get("SpeechResult", "")[:200])
    option = _option_ref()
    if choice is voice_calls.Choice.NO and _has_next(notice, option):
        assert option is not None
        session.commit()
        return _xml(_option_twiml(notice, outbox_id, option.number + 1, []))
    if choice in (voice_calls.Choice.YES, voice_calls.Choice.NO):
        assert choice is not None
        said = voice_calls.answer(
            session,
            outbox_id,
            call_sid,
            choice,
            clock=current_app.extensions["carpool.clock"],
            limits=ReplyLimits(
                per_number_hour=current_app.config["SMS_REPLY_BUDGET_PER_NUMBER"],
                global_hour=current_app.config["SMS_REPLY_BUDGET_GLOBAL"],
            ),
            option=option,
        )
        session.commit()
        return _xml(twiml.say_and_hang_up(*(said or ("Au revoir.",))))
    reply = _menu_reply(notice, choice, outbox_id, option, call_sid)
    session.commit()
    return _xml(reply)


def _has_next(notice: voice_calls.CallNotice, option: OptionRef | None) -> bool:
    """A "non" to an option that is not the last one of the proposal still waiting: the next one."""
    proposal = notice.proposal
    return (
        option is not None
        and proposal is not None
        and voice_options.still_offered(proposal, option)
        and option.number < proposal.count
    )


def _menu_reply(
    notice: voice_calls.CallNotice,
    choice: voice_calls.Choice | None,
    outbox_id: int,
    option: OptionRef | None,
    call_sid: str,
) -> str:
    """9 says it again, 0 puts the person through, anything else is asked again (twice at most)."""
    question = notice.question is not None
    several = option is not None and notice.several() and voice_options.still_offered(notice.proposal, option)
    if choice is voice_calls.Choice.PERSON:
        return twiml.dial(notice.association_phone)
    if option is not None and not voice_options.still_offered(notice.proposal, option):
        if voice_calls.answered_in_call(db_session(), call_sid):
            return twiml.say_and_hang_up(*voice_calls.ALREADY_ANSWERED)
        return twiml.say_and_hang_up(voice_options.STALE, "Au revoir.")
    if choice is voice_calls.Choice.REPEAT:
        if several:
            assert option is not None
            return _option_twiml(notice, outbox_id, option.number, ["Je répète."])
        return twiml.message(
            "Je répète.", notice.text, question=question, action_url=_answer_url(outbox_id, option=option)
        )
    tries = request.args.get("tries", "0")
    done = int(tries) + 1 if tries.isdigit() and len(tries) < 3 else MAX_UNCLEAR
    if done >= MAX_UNCLEAR:
        return twiml.say_and_hang_up(
            f"Je n'ai pas compris. Vous pouvez rappeler {notice.association}. Au revoir."
        )
    if several:
        assert option is not None and notice.proposal is not None
        keys = _keys(option.number, notice.proposal.count)
        return twiml.menu_again(
            "Je n'ai pas compris.",
            question=True,
            action_url=_answer_url(outbox_id, done, option),
            menu_words=keys,
        )
    return twiml.menu_again(
        "Je n'ai pas compris.", question=question, action_url=_answer_url(outbox_id, done, option)
    )


@bp.post("/status")
def call_status() -> Response:
    """Twilio's status callback for one call (``?outbox=<id>`` is in the callback URL)."""
    if not from_twilio():
        abort(403)
    outbox_id = request.args.get("outbox", "")
    if outbox_id.isdigit() and len(outbox_id) < 12:
        voice_calls.call_ended(
            db_session(),
            int(outbox_id),
            _field("CallSid"),
            _field("CallStatus", 20),
            _field("AnsweredBy", 30),
            _now(),
            retry_minutes=int(current_app.config.get("VOICE_RETRY_MINUTES", 20)),
        )
        db_session().commit()
    return Response("", status=204)

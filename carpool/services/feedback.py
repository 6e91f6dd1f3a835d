"""After the trip: the passenger's "did it go well?" answer, kept on the match.

The question is queued by the ``notices`` job (carpool/services/reminders.py);
the answer arrives through the SMS conversation, which asks here whether a
"1", "2", "oui" or "non" answers a pending question rather than something else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.models import Match, Request
from carpool.services import audit

#: After this, a "1" or "oui" is no longer read as an answer to the question.
ANSWER_WINDOW = timedelta(days=3)


def pending_question(session: Session, resident_id: int, now: datetime) -> Match | None:
    """The latest trip whose feedback question this resident has not answered yet."""
    return session.scalar(
        sa.select(Match)
        .join(Request, Match.request_id == Request.id)
        .where(
            Request.resident_id == resident_id,
            Match.feedback_asked_at.is_not(None),
            Match.feedback_asked_at >= now - ANSWER_WINDOW,
            Match.feedback_at.is_(None),
        )
        .order_by(Match.feedback_asked_at.desc(), Match.id.desc())
        .limit(1)
    )


def record_answer(session: Session, match: Match, ok: bool, now: datetime, *, actor: str) -> None:
    match.feedback_ok, match.feedback_at = ok, now
    request = session.get_one(Request, match.request_id)
    audit.record(
        session, actor, "match.feedback", subject=match, association_id=request.association_id, ok=ok
    )

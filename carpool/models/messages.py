"""The SMS outbox: one row per message to send, written in the same transaction as its cause."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.clock import utcnow
from carpool.models.base import Base, Timestamped, enum_column


class OutboundStatus(enum.Enum):
    PENDING = "pending"  # waiting for a dispatcher (or for next_attempt_at)
    SENDING = "sending"  # claimed by a dispatcher until lease_until
    SENT = "sent"  # accepted by the provider (provider_sid set)
    DELIVERED = "delivered"
    FAILED = "failed"  # permanent error: shown to coordinators
    CANCELLED = "cancelled"


class OutboundMessage(Timestamped, Base):
    """An SMS to send exactly once; ``idempotency_key`` names the business event."""

    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True)  # e.g. match:42:proposed
    association_id: Mapped[int | None] = mapped_column(sa.ForeignKey("association.id"), index=True)
    # The resident it is for, set by whoever queues it: a number alone may be a driver's too.
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    to_phone: Mapped[str] = mapped_column(sa.String(16))
    # "sms", or "voice": a phone call that speaks the body (carpool/web/voice/outbound.py).
    channel: Mapped[str] = mapped_column(sa.String(5), default="sms", server_default="sms")
    # A call about a trip within 24 h may ring outside 09:00-19:00 (retries included).
    trip_at: Mapped[datetime | None]
    body: Mapped[str | None] = mapped_column(sa.Text)  # emptied after the retention period
    status: Mapped[OutboundStatus] = enum_column(OutboundStatus, default=OutboundStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    # On the dispatcher's wall clock, not the writer's: where reconciliation starts looking.
    first_attempt_at: Mapped[datetime | None]
    provider_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(sa.String(20))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None]
    # Calls: who picked up ("human", "machine_start"…) and the last call status from Twilio.
    answered_by: Mapped[str | None] = mapped_column(sa.String(20))
    call_status: Mapped[str | None] = mapped_column(sa.String(20))


class AttentionReason(enum.Enum):
    """Why an inbound SMS needs a person (``InboundMessage.attention_reason``)."""

    UNKNOWN_SENDER = "unknown_sender"
    NOT_UNDERSTOOD = "not_understood"
    ASKS_CALL = "asks_call"
    BAD_TRIP = "bad_trip"  # answered that the trip went badly


class InboundMessage(Timestamped, Base):
    """An SMS received; ``message_sid`` makes a webhook retried by Twilio count once."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    association_id: Mapped[int | None] = mapped_column(sa.ForeignKey("association.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    from_phone: Mapped[str] = mapped_column(sa.String(16), index=True)
    body: Mapped[str | None] = mapped_column(sa.Text)  # emptied after the retention period
    intent: Mapped[str | None] = mapped_column(sa.String(20))
    needs_attention: Mapped[bool] = mapped_column(default=False, index=True)  # a person should read it
    # Why, and what the coordinators did: "Rappeler" notes who calls back,
    # "Fait" takes it off their list. Rows from before these columns have no reason.
    attention_reason: Mapped[AttentionReason | None] = enum_column(AttentionReason)
    callback_at: Mapped[datetime | None]
    callback_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    # The coordinators' list: unhandled messages needing a person, per association.
    __table_args__ = (
        sa.Index("ix_inbound_message_to_handle", "association_id", "needs_attention", "handled_at"),
    )


class ConversationState(enum.Enum):
    IDLE = "idle"
    COLLECTING = "collecting"  # a request with missing pieces: one question at a time
    CHOOSING = "choosing"  # options were sent: waiting for 1/2/3 or NON
    ESCALATED = "escalated"  # handed to a coordinator


class Conversation(Base):
    """Where the SMS exchange of a number with one association stands (expires after 48 h of silence)."""

    __tablename__ = "conversation"
    __table_args__ = (sa.UniqueConstraint("association_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"))
    phone: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[ConversationState] = enum_column(ConversationState, default=ConversationState.IDLE)
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what we know of the request so far
    options: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # the numbered choices sent
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ride_request.id"))
    unknown_replies: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsOptOut(Base):
    """A number that answered STOP without being a resident (a driver, a stranger): nothing goes to it.

    Residents keep their opt-out on their own row (``Resident.sms_opted_out_at``).
    """

    __tablename__ = "sms_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(16), unique=True)
    opted_out_at: Mapped[datetime]


class SmsCounter(Base):
    """One budget (SMS per number, per hour…) counted in the database, so every worker sees the same.

    ``window_start`` names the current window; a new window starts the count again.
    """

    __tablename__ = "sms_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)  # "number:<digest>", "global"…
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)

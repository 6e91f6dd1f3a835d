"""Calls to the association's number: one row per call, and the voice messages left."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.models.base import Base, Timestamped


class VoiceCall(Timestamped, Base):
    """A call Twilio put through to ``/voice/inbound``; ``call_sid`` makes a retried webhook count once.

    The caller is a resident, a driver (of this association) or nobody known. ``misses``
    counts menus left without a usable answer: one repeat, then goodbye.
    """

    __tablename__ = "voice_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    driver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("driver.id"))
    from_phone: Mapped[str] = mapped_column(sa.String(16), index=True)
    to_phone: Mapped[str] = mapped_column(sa.String(16))  # the association's number, caller id of a <Dial>
    misses: Mapped[int] = mapped_column(default=0)
    # Over the hourly budget of calls from this number: greeted, told to wait, hung up.
    throttled: Mapped[bool] = mapped_column(default=False)


class VoiceMessage(Timestamped, Base):
    """A voice message left for the coordinators (at most one per call), listed on their first page.

    The audio stays at Twilio; the dashboard plays it through a proxy that checks the
    coordinator's association. After the retention period, or when the resident is erased,
    ``forgotten_at`` is set (it can no longer be played); the retention job then deletes the
    recording at Twilio and empties ``recording_sid``.
    """

    __tablename__ = "voice_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"))
    call_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    recording_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    duration_s: Mapped[int] = mapped_column(default=0)
    resident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    from_phone: Mapped[str] = mapped_column(sa.String(16))
    callback_at: Mapped[datetime | None]
    callback_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    forgotten_at: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_voice_message_to_handle", "association_id", "handled_at"),)

"""All models, imported here so the metadata is complete for Alembic and create_all."""

from carpool.models.accounts import ApiToken, PasswordResetRequest, PasswordResetToken, PhoneVerification
from carpool.models.audit import AuditEvent
from carpool.models.base import Base
from carpool.models.jobs import JobRun, SchedulerLease
from carpool.models.messages import (
    AttentionReason,
    Conversation,
    ConversationState,
    InboundMessage,
    OutboundMessage,
    OutboundStatus,
    SmsCounter,
    SmsOptOut,
)
from carpool.models.people import (
    Association,
    AvailabilitySlot,
    Driver,
    LoginFailure,
    Resident,
    Role,
    TimeOff,
    UserAccount,
    VettingStatus,
)
from carpool.models.places import Commune, NamedPlace
from carpool.models.trips import (
    MATCH_TRANSITIONS,
    SEAT_HOLDING,
    Match,
    MatchStatus,
    Offer,
    OfferStatus,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
)

__all__ = [
    "MATCH_TRANSITIONS",
    "SEAT_HOLDING",
    "ApiToken",
    "Association",
    "AttentionReason",
    "AuditEvent",
    "AvailabilitySlot",
    "Base",
    "Commune",
    "Conversation",
    "ConversationState",
    "Driver",
    "InboundMessage",
    "JobRun",
    "LoginFailure",
    "Match",
    "MatchStatus",
    "NamedPlace",
    "Offer",
    "OfferStatus",
    "OutboundMessage",
    "OutboundStatus",
    "PasswordResetRequest",
    "PasswordResetToken",
    "PhoneVerification",
    "Purpose",
    "Request",
    "RequestSource",
    "RequestStatus",
    "Resident",
    "Role",
    "SchedulerLease",
    "SmsCounter",
    "SmsOptOut",
    "TimeOff",
    "UserAccount",
    "VettingStatus",
]

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
from carpool.models.money import ExpenseChoice, LegParticipation, MonthlyExpenses, PaymentMethod
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
from carpool.models.series import AppointmentSeries, SeriesState
from carpool.models.trips import (
    MATCH_TRANSITIONS,
    OFFER_FLEX_MIN,
    OFFER_MAX_DETOUR_MIN,
    OFFER_SEATS,
    SEAT_HOLDING,
    Leg,
    Match,
    MatchStatus,
    Offer,
    OfferStatus,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
)
from carpool.models.tus import CommuneEligibility, TusBasis
from carpool.models.voice import VoiceCall, VoiceMessage

__all__ = [
    "MATCH_TRANSITIONS",
    "OFFER_FLEX_MIN",
    "OFFER_MAX_DETOUR_MIN",
    "OFFER_SEATS",
    "SEAT_HOLDING",
    "ApiToken",
    "AppointmentSeries",
    "Association",
    "AttentionReason",
    "AuditEvent",
    "AvailabilitySlot",
    "Base",
    "Commune",
    "CommuneEligibility",
    "Conversation",
    "ConversationState",
    "Driver",
    "ExpenseChoice",
    "InboundMessage",
    "JobRun",
    "Leg",
    "LegParticipation",
    "LoginFailure",
    "Match",
    "MatchStatus",
    "MonthlyExpenses",
    "NamedPlace",
    "Offer",
    "OfferStatus",
    "OutboundMessage",
    "OutboundStatus",
    "PasswordResetRequest",
    "PasswordResetToken",
    "PaymentMethod",
    "PhoneVerification",
    "Purpose",
    "Request",
    "RequestSource",
    "RequestStatus",
    "Resident",
    "Role",
    "SchedulerLease",
    "SeriesState",
    "SmsCounter",
    "SmsOptOut",
    "TimeOff",
    "TusBasis",
    "UserAccount",
    "VettingStatus",
    "VoiceCall",
    "VoiceMessage",
]

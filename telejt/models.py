"""Imports every model so that SQLAlchemy metadata and Alembic see the whole schema."""

from telejt.alerts.models import Alert
from telejt.api.models import IdempotencyKey
from telejt.audit.models import AuditEvent
from telejt.auth.models import (
    ApiToken,
    LoginThrottle,
    StaffSession,
    StaffUser,
    court_memberships,
)
from telejt.checkins.models import CheckinAnswer
from telejt.conversation.models import Prompt
from telejt.courts.models import Court
from telejt.participants.models import Consent, Participant
from telejt.planning.models import Contact
from telejt.scheduler.models import SchedulerHeartbeat
from telejt.sessions.models import ClinicalNote, PresenceEvent
from telejt.sms.models import InboundMessage, OutboundMessage
from telejt.sms.provider import SmsProviderOutage

__all__ = [
    "Alert",
    "ApiToken",
    "AuditEvent",
    "CheckinAnswer",
    "ClinicalNote",
    "Consent",
    "Contact",
    "Court",
    "IdempotencyKey",
    "InboundMessage",
    "LoginThrottle",
    "OutboundMessage",
    "Participant",
    "PresenceEvent",
    "Prompt",
    "SchedulerHeartbeat",
    "SmsProviderOutage",
    "StaffSession",
    "StaffUser",
    "court_memberships",
]

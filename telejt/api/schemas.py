"""The API's request and response schemas (JSON Schema, emitted into the OpenAPI document).

Validated with :mod:`telejt.api.jsonschema`; the same objects are the document's
components, so what is documented is what is enforced.
"""

from __future__ import annotations

from typing import Any

from telejt.api.jsonschema import JsonSchema, Schema
from telejt.participants.models import CONSENT_KINDS, LOCALES, PARTICIPANT_STATUSES
from telejt.planning.models import ATTRIBUTIONS, CONTACT_KINDS, CONTACT_STATUSES
from telejt.protocols.model import WEEKDAYS
from telejt.sessions.services import OUTCOMES
from telejt.sms.models import OUTBOUND_STATUSES

# ---- building blocks ---------------------------------------------------------------------

#: ids are PostgreSQL integers: a bigger number can name nothing
MAX_ID = 2**31 - 1
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
INSTANT = {"type": "string", "format": "date-time"}
NULLABLE_INSTANT = {"type": ["string", "null"], "format": "date-time"}
TIMEZONE = {"type": "string", "minLength": 1, "maxLength": 64, "description": "IANA zone"}
SLOT = {
    "type": "object",
    "properties": {
        "weekday": {"type": "string", "enum": list(WEEKDAYS)},
        "time": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
    },
    "required": ["weekday", "time"],
    "additionalProperties": False,
}
SLOTS = {"type": "array", "items": SLOT, "maxItems": 14}
PHASE_ID = {"type": ["string", "integer"], "description": "phase id of the protocol"}
PHONE = {"type": "string", "minLength": 1, "maxLength": 40}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}


def _object(properties: JsonSchema, required: list[str] | None = None, **extra: Any) -> JsonSchema:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
        "additionalProperties": False,
        **extra,
    }


# ---- errors ------------------------------------------------------------------------------

ERROR = Schema(
    "Error",
    _object(
        {
            # RFC 9457 problem details (served as application/problem+json)
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "error": _object(
                {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                }
            ),
        }
    ),
)

# ---- courts and staff --------------------------------------------------------------------

#: the court positions that see a miss live before it is verified
UNVERIFIED_POSITIONS = {
    "type": "array",
    "items": {"type": "string", "enum": ["judge", "prosecutor", "defender", "supervision_officer"]},
    "uniqueItems": True,
}
COURT = Schema(
    "Court",
    _object(
        {
            "id": ID,
            "name": {"type": "string"},
            "state": {"type": "string"},
            "timezone": {"type": "string"},
            "team_phone": {"type": ["string", "null"]},
            "on_call_phone": {"type": ["string", "null"]},
            "unverified_positions": UNVERIFIED_POSITIONS,
            "created_at": INSTANT,
        }
    ),
)
#: a phone as people write it ("81 1234 5678"), stored as E.164; "" or null for none
COURT_PHONE: JsonSchema = {"type": ["string", "null"], "maxLength": 30}
COURT_CREATE = Schema(
    "CourtCreate",
    _object(
        {
            "name": NAME,
            "state": {"type": "string", "minLength": 1, "maxLength": 100},
            "timezone": TIMEZONE,
            "team_phone": COURT_PHONE,
            "on_call_phone": COURT_PHONE,
        },
        required=["name", "state", "timezone"],
    ),
)
COURT_UPDATE = Schema(
    "CourtUpdate",
    _object(
        {
            "team_phone": COURT_PHONE,
            "on_call_phone": COURT_PHONE,
            "unverified_positions": UNVERIFIED_POSITIONS,
        },
        required=[],
        minProperties=1,
    ),
)
STAFF = Schema(
    "Staff",
    _object(
        {
            "id": ID,
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["admin", "coordinator", "therapist", "court"]},
            "court_ids": {"type": "array", "items": ID},
        }
    ),
)
PROTOCOL = Schema(
    "Protocol",
    _object(
        {
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "name": {"type": "string"},
            "phases": {
                "type": "array",
                "items": _object({"id": {"type": "string"}, "name": {"type": "string"}}),
            },
        }
    ),
)

# ---- participants ------------------------------------------------------------------------

CONSENTS = _object({kind: {"type": "boolean"} for kind in CONSENT_KINDS})
#: every field of a participant but the phone, which court users do not get
PARTICIPANT_FIELDS_ALWAYS = (
    "id",
    "court_id",
    "case_number",
    "name",
    "locale",
    "timezone",
    "therapist_id",
    "protocol_id",
    "protocol_version",
    "phase_id",
    "session_slots",
    "consents",
    "sms_opted_out_at",
    "status",
    "created_at",
    "phone_shared",
)
PARTICIPANT = Schema(
    "Participant",
    _object(
        {
            "id": ID,
            "court_id": ID,
            "case_number": {"type": "string"},
            "name": {"type": "string"},
            "phone": {"type": "string", "description": "E.164; not shown to court users"},
            "phone_shared": {"type": "boolean"},
            "locale": {"type": "string", "enum": list(LOCALES)},
            "timezone": {"type": "string"},
            "therapist_id": {"type": ["integer", "null"]},
            "protocol_id": {"type": "string"},
            "protocol_version": {"type": "integer"},
            "phase_id": {"type": "string"},
            "session_slots": SLOTS,
            "consents": CONSENTS,
            "sms_opted_out_at": NULLABLE_INSTANT,
            "status": {"type": "string", "enum": list(PARTICIPANT_STATUSES)},
            "created_at": INSTANT,
        },
        required=[*PARTICIPANT_FIELDS_ALWAYS],
    ),
)
#: another participant uses the same phone, knowingly (a family phone); without it, a
#: phone an active participant already uses is refused
PHONE_SHARED: JsonSchema = {"type": "boolean"}
PARTICIPANT_CREATE = Schema(
    "ParticipantCreate",
    _object(
        {
            "court_id": ID,
            "case_number": {"type": "string", "minLength": 1, "maxLength": 60},
            "name": NAME,
            "phone": PHONE,
            "phone_shared": PHONE_SHARED,
            "locale": {"type": "string", "enum": list(LOCALES)},
            "timezone": TIMEZONE,
            "therapist_id": ID,
            "protocol_id": {"type": "string", "minLength": 1, "maxLength": 60},
            "phase_id": PHASE_ID,
            "session_slots": SLOTS,
            "consents": CONSENTS,
        },
        required=[
            "court_id",
            "case_number",
            "name",
            "phone",
            "therapist_id",
            "protocol_id",
            "phase_id",
            "session_slots",
            "consents",
        ],
    ),
)
PARTICIPANT_UPDATE = Schema(
    "ParticipantUpdate",
    _object(
        {
            "phase_id": PHASE_ID,
            "session_slots": SLOTS,
            "phone": PHONE,
            "phone_shared": PHONE_SHARED,
            "locale": {"type": "string", "enum": list(LOCALES)},
            "timezone": TIMEZONE,
            "status": {"type": "string", "enum": list(PARTICIPANT_STATUSES)},
            "therapist_id": ID,
            "name": NAME,
        },
        required=[],
        minProperties=1,
    ),
)

# ---- contacts, sessions, attendance ------------------------------------------------------

CONTACT = Schema(
    "Contact",
    _object(
        {
            "id": ID,
            "participant_id": ID,
            "kind": {"type": "string", "enum": list(CONTACT_KINDS)},
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "status": {"type": "string", "enum": list(CONTACT_STATUSES)},
            "attribution": {"type": ["string", "null"], "enum": [*ATTRIBUTIONS, None]},
            "attribution_reason": {"type": ["string", "null"]},
            "justification": {"type": ["string", "null"]},
            "justified_at": NULLABLE_INSTANT,
            "verification": {"type": ["string", "null"], "enum": ["unverified", "verified", None]},
            "verified_at": NULLABLE_INSTANT,
            "modality": {"type": ["string", "null"]},
            "closed_at": NULLABLE_INSTANT,
        }
    ),
)
SESSION_CREATE = Schema(
    "SessionCreate",
    _object(
        {
            "participant_id": ID,
            "starts_at": INSTANT,
            "minutes": {"type": "integer", "minimum": 10, "maximum": 240},
            "modality": {"type": "string", "enum": ["video", "phone"]},
        },
        required=["participant_id", "starts_at", "minutes"],
    ),
)
ATTENDANCE = Schema(
    "Attendance",
    _object(
        {
            "outcome": {"type": "string", "enum": list(OUTCOMES)},
            "note": {"type": "string", "maxLength": 2000},
        },
        required=["outcome"],
    ),
)

JUSTIFICATION = Schema(
    "Justification",
    _object({"reason": {"type": "string", "minLength": 1, "maxLength": 1000}}),
)

# ---- messages, alerts, compliance --------------------------------------------------------

MESSAGE = Schema(
    "Message",
    _object(
        {
            "id": ID,
            "direction": {"type": "string", "enum": ["out", "in"]},
            "purpose": {"type": ["string", "null"]},
            "body": {"type": ["string", "null"]},
            "status": {"type": ["string", "null"], "enum": [*OUTBOUND_STATUSES, "received", None]},
            "due_at": NULLABLE_INSTANT,
            "sent_at": NULLABLE_INSTANT,
            "error_code": {"type": ["string", "null"]},
        }
    ),
)
ALERT = Schema(
    "Alert",
    _object(
        {
            "id": ID,
            "court_id": ID,
            "participant_id": ID,
            "contact_id": {"type": ["integer", "null"]},
            "kind": {"type": "string"},
            "severity": {"type": "string", "enum": ["info", "warning", "urgent"]},
            "attribution": {"type": ["string", "null"]},
            "audience": {"type": "string", "enum": ["court", "team"]},
            "reason": {"type": ["string", "null"]},
            "created_at": INSTANT,
            "acknowledged_at": NULLABLE_INSTANT,
            "ack_note": {"type": ["string", "null"]},
            "verification": {"type": ["string", "null"], "enum": ["unverified", "verified", None]},
            "verification_outcome": {
                "type": ["string", "null"],
                "enum": ["participant", "justified", "system_failure", None],
            },
            "verified_at": NULLABLE_INSTANT,
            "verification_note": {"type": ["string", "null"]},
            "seen_by": {
                "type": "array",
                "items": _object(
                    {"staff_user_id": ID, "name": {"type": "string"}, "read_at": INSTANT}
                ),
            },
        }
    ),
)
ALERT_ACK = Schema(
    "AlertAck",
    _object({"note": {"type": "string", "minLength": 1, "maxLength": 2000}}),
)
ALERT_VERIFICATION = Schema(
    "AlertVerification",
    _object(
        {
            "outcome": {"type": "string", "enum": ["participant", "justified", "system_failure"]},
            "note": {"type": "string", "minLength": 1, "maxLength": 1000},
        }
    ),
)
COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_COUNT = {"type": "integer", "minimum": 0}
#: one kind of contact's figures (telejt.reports.figures), as the dashboard and report count
KIND_FIGURES = _object(
    {
        "kept": _COUNT,
        "missed_participant": _COUNT,
        "missed_system": _COUNT,
        "missed_unconfirmed": _COUNT,
        "missed_opted_out": _COUNT,
        "excused": _COUNT,
        "outcome_pending": _COUNT,
        "incomplete": _COUNT,
        "missed_unverified": _COUNT,
        "missed": _COUNT,
        "attendance_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    }
)
#: his progress (telejt.reports.figures.Progress), the same on the dashboard and the report
PROGRESS = _object(
    {
        "streak": _COUNT,
        "last_missed_at": NULLABLE_INSTANT,
        "days_without_miss": _COUNT,
        "milestone": {"type": ["integer", "null"], "enum": [30, 60, 90, None]},
        "awaiting_verification": {"type": "boolean"},
        "phase_id": {"type": "string"},
        "weeks_in_phase": _COUNT,
        "min_weeks": {"type": ["integer", "null"], "minimum": 1},
    }
)
COMPLIANCE = Schema(
    "Compliance",
    _object(
        {
            "participant_id": ID,
            "from": INSTANT,
            "to": INSTANT,
            "total": {"type": "integer", "minimum": 0},
            "by_status": COUNTS,
            "by_attribution": COUNTS,
            "sessions_by_status": COUNTS,
            "attendance_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "outcome_pending": {"type": "integer", "minimum": 0},
            "figures": _object(
                {
                    "sessions": KIND_FIGURES,
                    "checkins": KIND_FIGURES,
                    "total": KIND_FIGURES,
                    "progress": PROGRESS,
                }
            ),
            "consecutive_misses": {"type": "integer", "minimum": 0},
            "consecutive_unverified": {"type": "integer", "minimum": 0},
            "consecutive_system_misses": {"type": "integer", "minimum": 0},
            "last_contact": {"anyOf": [CONTACT.ref(), {"type": "null"}]},
            "last_kept_at": NULLABLE_INSTANT,
        }
    ),
)

ALL_SCHEMAS = (
    ERROR,
    COURT,
    COURT_CREATE,
    COURT_UPDATE,
    STAFF,
    PROTOCOL,
    PARTICIPANT,
    PARTICIPANT_CREATE,
    PARTICIPANT_UPDATE,
    CONTACT,
    SESSION_CREATE,
    ATTENDANCE,
    JUSTIFICATION,
    MESSAGE,
    ALERT,
    ALERT_ACK,
    ALERT_VERIFICATION,
    COMPLIANCE,
)

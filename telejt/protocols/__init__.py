"""Remote treatment protocols: the loaded model, the loader and its errors."""

from telejt.protocols.loader import (
    ProtocolError,
    ProtocolIssue,
    ProtocolRegistry,
    check_paths,
    load_protocol_file,
    load_protocols,
)
from telejt.protocols.model import (
    QUESTION_TYPES,
    WEEKDAYS,
    CheckinRule,
    CrisisLine,
    JoinWindow,
    LocalizedText,
    MissedRule,
    Phase,
    Protocol,
    Question,
    QuietHours,
    Reminder,
    SessionRule,
)

__all__ = [
    "QUESTION_TYPES",
    "WEEKDAYS",
    "CheckinRule",
    "CrisisLine",
    "JoinWindow",
    "LocalizedText",
    "MissedRule",
    "Phase",
    "Protocol",
    "ProtocolError",
    "ProtocolIssue",
    "ProtocolRegistry",
    "Question",
    "QuietHours",
    "Reminder",
    "SessionRule",
    "check_paths",
    "load_protocol_file",
    "load_protocols",
]

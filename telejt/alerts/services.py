"""Raising and acknowledging alerts."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.extensions import db
from telejt.live import court_room, publish, team_room, therapist_room
from telejt.participants.models import Participant
from telejt.planning.models import Contact

#: alert kinds that also go to the participant's therapist (crisis and outcome: team only)
THERAPIST_ALERT_KINDS = ("crisis", "reachability", "missed_contact", "outcome_pending")


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The JSON shape of an alert (API and live events)."""
    return {
        "id": alert.id,
        "court_id": alert.court_id,
        "participant_id": alert.participant_id,
        "contact_id": alert.contact_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "attribution": alert.attribution,
        "audience": alert.audience,
        "reason": alert.reason,
        "created_at": alert.created_at.astimezone(UTC).isoformat(),
        "acknowledged_at": (
            alert.acknowledged_at.astimezone(UTC).isoformat() if alert.acknowledged_at else None
        ),
        "ack_note": alert.ack_note,
    }


def alert_rooms(alert: Alert, participant: Participant) -> list[str]:
    """Who sees an alert live: the court and team, or for team matters the team and therapist."""
    rooms = [team_room(alert.court_id)]
    if alert.audience == "court":
        rooms.append(court_room(alert.court_id))
    if participant.therapist_id is not None and alert.kind in THERAPIST_ALERT_KINDS:
        rooms.append(therapist_room(participant.therapist_id))
    return rooms


def raise_alert(
    *,
    participant: Participant,
    kind: str,
    severity: str,
    dedupe_key: str,
    contact: Contact | None = None,
    attribution: str | None = None,
    audience: str = "court",
    reason: str | None = None,
) -> Alert:
    """Record an alert once per fact (``dedupe_key``) and publish it; the caller commits."""
    existing = db.session.scalar(select(Alert).where(Alert.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    alert = Alert(
        court_id=participant.court_id,
        participant_id=participant.id,
        contact_id=contact.id if contact is not None else None,
        kind=kind,
        severity=severity,
        attribution=attribution,
        audience=audience,
        dedupe_key=dedupe_key,
        reason=reason,
        created_at=now(),
    )
    db.session.add(alert)
    db.session.flush()
    publish("alert.created", alert_payload(alert), alert_rooms(alert, participant))
    return alert


def acknowledge_alert(alert: Alert, by: StaffUser, note: str) -> Alert:
    """Acknowledge an alert with a note (once; later calls change nothing)."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now()
        alert.acknowledged_by_id = by.id
        alert.ack_note = note
        db.session.flush()
        publish("alert.acknowledged", alert_payload(alert), alert_rooms(alert, alert.participant))
    return alert

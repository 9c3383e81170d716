"""Raising and acknowledging alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from telejt.alerts.models import VERIFIED_KINDS, Alert, AlertRead
from telejt.auth.models import StaffUser
from telejt.clock import now
from telejt.courts.models import Court
from telejt.courts.visibility import (
    COURT_DOCUMENT,
    Viewer,
    court_positions_seeing,
    may_read_ack_note,
    may_see_alert,
)
from telejt.extensions import db
from telejt.live import court_position_room, court_room, publish, team_room, therapist_room
from telejt.participants.models import Participant
from telejt.planning.models import Contact


def shown_ack_note(alert: Alert, viewer: Viewer | None) -> str | None:
    """The acknowledgement note as this viewer may read it (None: the whole team's view)."""
    if alert.ack_note is None or viewer is None:
        return alert.ack_note
    author = alert.acknowledged_by.role if alert.acknowledged_by is not None else None
    return alert.ack_note if may_read_ack_note(viewer, author) else None


def alert_payload(alert: Alert, viewer: Viewer | None = None) -> dict[str, Any]:
    """The JSON shape of an alert (API and live events), cut to what ``viewer`` may read."""
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
        "ack_note": shown_ack_note(alert, viewer),
        "verification": alert.verification,
        "verification_outcome": alert.verification_outcome,
        "verified_at": (
            alert.verified_at.astimezone(UTC).isoformat() if alert.verified_at else None
        ),
        "verification_note": alert.verification_note,
        # each who marked it seen, for himself (the team's acknowledgement is apart)
        "seen_by": [
            {
                "staff_user_id": read.staff_user_id,
                "name": read.staff_user.name,
                "read_at": read.read_at.astimezone(UTC).isoformat(),
            }
            for read in alert.reads
        ],
    }


def alert_rooms(alert: Alert, participant: Participant) -> list[str]:
    """The treatment team's rooms that see an alert live: coordinators, and his therapist."""
    rooms = [team_room(alert.court_id)]
    therapist = Viewer("therapist")
    if participant.therapist_id is not None and may_see_alert(
        therapist, alert.kind, alert.audience
    ):
        rooms.append(therapist_room(participant.therapist_id))
    return rooms


def publish_alert(event_name: str, alert: Alert, participant: Participant) -> None:
    """Tell the rooms that may see an alert, the court's with only what court users may read."""
    publish(event_name, alert_payload(alert), alert_rooms(alert, participant))
    if not may_see_alert(COURT_DOCUMENT, alert.kind, alert.audience):
        return
    if alert.verification == "unverified":
        court = db.session.get(Court, alert.court_id)
        positions = court.unverified_position_set if court is not None else frozenset()
        rooms = [
            court_position_room(alert.court_id, position)
            for position in court_positions_seeing(alert.verification, positions)
        ]
    else:
        rooms = [court_room(alert.court_id)]
    publish(event_name, alert_payload(alert, COURT_DOCUMENT), rooms)


def opt_out_alert_key(participant_id: int, opted_out_at: datetime) -> str:
    """The dedupe key of the team's task after an opt-out: one per opt-out, whoever
    notices it first (his BAJA, the carrier's 21610, or the first miss after it)."""
    return f"optout:{participant_id}:{opted_out_at.astimezone(UTC):%Y%m%dT%H%M%S}"


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
        verification="unverified" if kind in VERIFIED_KINDS else None,
    )
    db.session.add(alert)
    db.session.flush()
    publish_alert("alert.created", alert, participant)
    return alert


def acknowledge_alert(alert: Alert, by: StaffUser, note: str) -> Alert:
    """Acknowledge an alert with a note (once; later calls change nothing)."""
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now()
        alert.acknowledged_by_id = by.id
        alert.ack_note = note
        db.session.flush()
        publish_alert("alert.acknowledged", alert, alert.participant)
    return alert


def mark_seen(alert: Alert, by: StaffUser) -> AlertRead:
    """Record that this staff member saw the alert, for him only (once); the caller commits."""
    for read in alert.reads:
        if read.staff_user_id == by.id:
            return read
    read = AlertRead(alert_id=alert.id, staff_user_id=by.id, read_at=now())
    db.session.add(read)
    alert.reads.append(read)
    db.session.flush()
    # every open dashboard that shows the alert updates its "seen by", no reload
    publish_alert("alert.seen", alert, alert.participant)
    return read


def mark_verified(alert: Alert, by: StaffUser, outcome: str, note: str) -> None:
    """Record a verification on the alert (the contact and the live event are the caller's)."""
    alert.verification = "verified"
    alert.verification_outcome = outcome
    alert.verified_by_id = by.id
    alert.verified_at = now()
    alert.verification_note = note

"""The /live Socket.IO namespace: who may listen, to which rooms, and catching up.

A connection carries the staff member's login session (Flask-Login cookie).
Court users listen to their courts' rooms, coordinators to their courts' team
rooms (which carry everything the court rooms do, and the team's matters, with
the team's notes), therapists to their own room; admins connect but join no room.
What each room carries is decided in telejt.courts.visibility. After a
reconnection the client asks for what it missed (``catch_up``) and gets it under
the same rules as the live rooms, plus which of the participants on its page had
a contact change meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import current_user
from flask_socketio import join_room
from sqlalchemy import Select, or_, select

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert, alert_payload
from telejt.audit.services import record_access
from telejt.auth.access import visible_participants
from telejt.auth.models import StaffUser
from telejt.clock import as_utc
from telejt.courts.visibility import may_acknowledge, viewer_of
from telejt.dashboard.queries import visible_alerts
from telejt.extensions import db, socketio
from telejt.live import NAMESPACE, court_position_room, court_room, team_room, therapist_room
from telejt.participants.models import Participant
from telejt.planning.models import Contact

CATCH_UP_LIMIT = 500
#: participants a page may ask about on catch-up (a dashboard page shows 200)
CATCH_UP_PARTICIPANTS = 500
NOTE_MAX_LENGTH = 2000


def rooms_for(user: StaffUser) -> list[str]:
    """The live rooms a staff member listens to."""
    if user.role == "court":
        # the court's room carries verified notices; his position's, the unverified ones
        # his court lets that position see (telejt.courts.visibility)
        return [
            room
            for court_id in user.court_ids
            for room in (court_room(court_id), court_position_room(court_id, user.court_position))
        ]
    if user.role == "coordinator":
        # the team room carries all the court room does: one room, each event once
        return [team_room(court_id) for court_id in user.court_ids]
    if user.role == "therapist":
        return [therapist_room(user.id)]
    return []


def alerts_for_live(user: StaffUser) -> Select[Alert]:
    """The alerts this user's rooms would have carried to him."""
    return visible_alerts(user)


def _parse_since(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):  # year 1 or 9999 overflows once moved to UTC
        return None


def missed_alerts(user: StaffUser, since_id: int, since: datetime | None) -> dict[str, Any]:
    """Alerts created after ``since_id``, acknowledgements and verifications after ``since``.

    A verification is news to the positions that see only verified notices: the alert
    is older than their page, and new to them.
    """
    condition = Alert.id > since_id
    if since is not None:
        condition = or_(condition, Alert.acknowledged_at > since, Alert.verified_at > since)
    alerts = db.session.scalars(
        alerts_for_live(user).where(condition).order_by(Alert.id).limit(CATCH_UP_LIMIT)
    ).all()
    viewer = viewer_of(user)
    created = [alert_payload(a, viewer) for a in alerts if a.id > since_id]
    acknowledged = [
        alert_payload(a, viewer)
        for a in alerts
        if a.id <= since_id and since is not None and a.acknowledged_at is not None
    ]
    verified = [
        alert_payload(a, viewer)
        for a in alerts
        if a.id <= since_id
        and since is not None
        and a.verified_at is not None
        and a.verified_at > since
    ]
    return {"created": created, "acknowledged": acknowledged, "verified": verified}


def participants_with_changed_contacts(
    user: StaffUser, participant_ids: list[int], since: datetime
) -> list[int]:
    """Which of these participants (those the user may see) had a contact change after ``since``."""
    if not participant_ids:
        return []
    scope = visible_participants(user).with_only_columns(Participant.id).scalar_subquery()
    query = (
        select(Contact.participant_id)
        .where(
            Contact.participant_id.in_(participant_ids),
            Contact.participant_id.in_(scope),
            Contact.updated_at > since,
        )
        .distinct()
        .order_by(Contact.participant_id)
    )
    return list(db.session.scalars(query))


def _parse_ids(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    ids = []
    for item in value[:CATCH_UP_PARTICIPANTS]:
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            continue
    return ids


def on_connect(auth: Any = None) -> bool:
    """Refuse anyone not logged in as active staff; join the rooms of his role."""
    if not current_user.is_authenticated:
        return False
    for room in rooms_for(current_user):
        join_room(room)
    return True


def on_catch_up(data: Any = None) -> dict[str, Any]:
    """What a reconnecting client missed.

    Asked as ``{"since_id": 41, "since": "<ISO-8601>", "participant_ids": [7, 9]}``
    (the participants whose compliance rows the page shows); answered with the
    alerts created and acknowledged since and, when ``participant_ids`` was given,
    ``contacts_changed``: those of the participants the user may see whose contacts
    changed since, so the page fetches their rows again.
    """
    if not current_user.is_authenticated:
        return {"error": "unauthorized"}
    data = data if isinstance(data, dict) else {}
    try:
        since_id = max(int(data.get("since_id") or 0), 0)
    except (TypeError, ValueError):
        since_id = 0
    since = _parse_since(data.get("since"))
    answer = missed_alerts(current_user, since_id, since)
    if "participant_ids" in data:  # a dashboard page; other clients get the alerts only
        ids = _parse_ids(data["participant_ids"])
        answer["contacts_changed"] = (
            participants_with_changed_contacts(current_user, ids, since) if since else []
        )
    seen = sorted(
        {a["id"] for a in answer["created"] + answer["acknowledged"] + answer["verified"]}
    )
    if seen:
        record_access(
            current_user.id, "alerts.catch_up", "alert", channel="live", detail={"alert_ids": seen}
        )
        db.session.commit()
    return answer


def on_acknowledge(data: Any = None) -> dict[str, Any]:
    """Acknowledge an alert with a note: ``{"alert_id": 7, "note": "…"}``."""
    if not current_user.is_authenticated or current_user.role == "admin":
        return {"error": "forbidden"}
    data = data if isinstance(data, dict) else {}
    note = str(data.get("note") or "").strip()[:NOTE_MAX_LENGTH]
    try:
        alert_id = int(data.get("alert_id"))
    except (TypeError, ValueError):
        return {"error": "not_found"}
    if not note:
        return {"error": "note_required"}
    alert = db.session.scalar(alerts_for_live(current_user).where(Alert.id == alert_id))
    if alert is None:
        return {"error": "not_found"}
    if not may_acknowledge(viewer_of(current_user), alert.kind, alert.audience):
        return {"error": "forbidden"}
    acknowledge_alert(alert, current_user, note)
    record_access(
        current_user.id,
        "alert.acknowledge",
        "alert",
        alert.id,
        participant_id=alert.participant_id,
        channel="live",
    )
    db.session.commit()
    return {"alert": alert_payload(alert, viewer_of(current_user))}


def register_live_namespace() -> None:
    """Bind the /live handlers to the app's Socket.IO server.

    Called each time the dashboard blueprint is registered: ``init_app`` builds a
    new server per app, and Flask-SocketIO's ``on`` binds only to the current one.
    """
    socketio.on("connect", namespace=NAMESPACE)(on_connect)
    socketio.on("catch_up", namespace=NAMESPACE)(on_catch_up)
    socketio.on("acknowledge", namespace=NAMESPACE)(on_acknowledge)

"""API calls about alerts: list, acknowledge, mark seen and verify."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from telejt.alerts.models import Alert
from telejt.alerts.services import acknowledge_alert, mark_seen
from telejt.api.auth import api_user
from telejt.api.errors import ApiError
from telejt.api.payloads import alert_payload
from telejt.api.routing import QueryParameter, operation
from telejt.api.schemas import ALERT, ALERT_ACK, ALERT_VERIFICATION, ID
from telejt.audit.services import record_access
from telejt.courts.models import Court
from telejt.courts.visibility import may_acknowledge, may_verify, viewer_of
from telejt.dashboard.queries import visible_alerts
from telejt.errors import Conflict, NotFound
from telejt.extensions import db
from telejt.planning.verification import verify_alert

#: the most alerts one list answers with, newest first
MAX_ALERTS = 500


@operation(
    "GET",
    "/alerts",
    summary="List alerts",
    description="Alerts of the participants the caller may see, newest first (at most 500), "
    "of the kinds his role sees (telejt.courts.visibility): court users see missed contacts "
    "and technical failures, never team matters (crisis signs, reachability, reschedule "
    "requests, unrecorded outcomes) nor a note written by clinical staff; a therapist sees "
    "no reschedule requests (the coordinator's queue). court_id outside the caller's "
    "courts: 404. Admins: 403. Audited.",
    roles=("coordinator", "therapist", "court"),
    query=(
        QueryParameter("court_id", ID, "only this court"),
        QueryParameter(
            "status", {"type": "string", "enum": ["open", "acknowledged"]}, "open or acknowledged"
        ),
    ),
    response=ALERT,
    many=True,
)
def list_alerts(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts the caller may see."""
    user = api_user()
    statement = visible_alerts(user)
    if query["court_id"] is not None:
        court_id = query["court_id"]
        visible = court_id in user.court_ids
        if not visible or db.session.get(Court, court_id) is None:
            raise NotFound(_("No encontrado."), {"court_id": _("Juzgado desconocido.")})
        statement = statement.where(Alert.court_id == court_id)
    if query["status"] == "open":
        statement = statement.where(Alert.acknowledged_at.is_(None))
    elif query["status"] == "acknowledged":
        statement = statement.where(Alert.acknowledged_at.is_not(None))
    statement = statement.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(MAX_ALERTS)
    viewer = viewer_of(user)
    alerts = [alert_payload(alert, viewer) for alert in db.session.scalars(statement)]
    record_access(
        user.id,
        "alerts.list",
        "alert",
        channel="api",
        detail={
            "court_id": query["court_id"],
            "status": query["status"],
            "alert_ids": [alert["id"] for alert in alerts],
        },
    )
    return alerts


@operation(
    "POST",
    "/alerts/<int:alert_id>/ack",
    summary="Acknowledge an alert",
    description="Court users, coordinators and therapists who may see the alert (others: "
    "404; admins: 403). The note is required. An alert already acknowledged: 409, the "
    "first note stands.",
    roles=("coordinator", "therapist", "court"),
    body=ALERT_ACK,
    response=ALERT,
    conflicts=True,
)
def ack_alert(alert_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Acknowledge an alert with a note."""
    user = api_user()
    alert = db.session.scalar(visible_alerts(user).where(Alert.id == alert_id))
    if alert is None or not may_acknowledge(viewer_of(user), alert.kind, alert.audience):
        raise NotFound(_("No encontrado."))
    if alert.acknowledged_at is not None:
        raise Conflict(_("La alerta ya fue atendida."))
    note = body["note"].strip()
    if not note:
        raise ApiError(422, _("Datos no válidos."), {"note": _("No puede quedar vacío.")})
    acknowledge_alert(alert, user, note)
    return alert_payload(alert, viewer_of(user))


@operation(
    "POST",
    "/alerts/<int:alert_id>/verification",
    summary="Verify a missed contact's alert",
    description="Coordinators and supervision officers who may see the alert (others: 403; "
    "an alert they cannot see: 404). A missed contact's alert starts unverified: the court "
    "positions the court names see it at once (by default the judge and the supervision "
    "officer), the others only once verified. outcome: participant (his own miss), "
    "justified (the contact becomes excused, as a justification does) or system_failure "
    "(the contact is attributed to the system); the note is required. Audited. An alert "
    "already verified: 409, the first verification stands; an alert of another kind: 422.",
    roles=("coordinator", "court"),
    body=ALERT_VERIFICATION,
    response=ALERT,
    conflicts=True,
)
def verify_alert_call(alert_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Verify a missed contact's alert."""
    user = api_user()
    viewer = viewer_of(user)
    if not may_verify(viewer):
        raise ApiError(403, _("Su función no permite esta operación."))
    alert = db.session.scalar(visible_alerts(user).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound(_("No encontrado."))
    verify_alert(alert, user, body["outcome"], body["note"], channel="api")
    return alert_payload(alert, viewer)


@operation(
    "POST",
    "/alerts/<int:alert_id>/seen",
    summary="Mark an alert as seen by the caller",
    description="Records that the caller saw the alert, for him only (seen_by lists each "
    "who did); the team's acknowledgement, which closes the task, is apart. Once per "
    "person: marking again changes nothing. Anyone who may see the alert (others: 404; "
    "admins: 403). Audited.",
    roles=("coordinator", "therapist", "court"),
    response=ALERT,
)
def mark_alert_seen(alert_id: int) -> dict[str, Any]:
    """Mark an alert as seen by the caller only."""
    user = api_user()
    alert = db.session.scalar(visible_alerts(user).where(Alert.id == alert_id))
    if alert is None:
        raise NotFound(_("No encontrado."))
    mark_seen(alert, user)
    record_access(
        user.id, "alert.seen", "alert", alert.id, participant_id=alert.participant_id, channel="api"
    )
    return alert_payload(alert, viewer_of(user))

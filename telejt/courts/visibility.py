"""Who sees what, defined once: role (and court position) × alert kind × message purpose.

The live rooms, the dashboard, the API, the timeline and the exports ask here, so a
page cannot forget a rule. The rules, from DESIGN:

- Court users (judge, prosecutor, defender, supervision officer) read attendance and
  compliance: misses and technical failures. Never anything about a crisis (the
  alert, the crisis line sent to him, the on-call escalation), never the team's
  queues (reachability, reschedule requests, unrecorded outcomes), never a message's
  text, and never an acknowledgement note written by clinical staff (it may hold
  clinical detail). A note a court user wrote is court business and stays visible.
- Coordinators see and acknowledge every alert of their courts.
- A therapist sees his own participants' crisis, reachability, missed-contact and
  outcome alerts; reschedule requests are the coordinator's queue, not his.
- Admins keep the system, not the cases: no alert, no message.

Court positions are each listed, so that a court may later narrow one (say, only
verified misses for the prosecutor) by changing this table alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from telejt.alerts.models import ALERT_KINDS
from telejt.auth.models import COURT_POSITIONS
from telejt.sms.purposes import PURPOSES

#: roles whose members treat the participant (clinical staff)
CLINICAL_ROLES = ("therapist", "coordinator")
#: message purposes about a crisis: never outside the treatment team, whatever their flags
CRISIS_PURPOSES = ("crisis_reply", "crisis_escalation")
#: alert kinds about a crisis
CRISIS_ALERT_KINDS = ("crisis",)


class StaffLike(Protocol):
    """What visibility needs to know about a staff member."""

    @property
    def role(self) -> str: ...

    @property
    def court_position(self) -> str | None: ...


@dataclass(frozen=True)
class Viewer:
    """A role, and for court users the position held in the proceedings."""

    role: str
    position: str | None = None

    @property
    def is_court(self) -> bool:
        """A member of the court, not of the treatment team."""
        return self.role == "court"

    @property
    def is_clinical(self) -> bool:
        """A member of the treatment team."""
        return self.role in CLINICAL_ROLES


def viewer_of(user: StaffLike) -> Viewer:
    """The viewer a staff member is (a court user without a position reads as a judge's peer)."""
    if user.role == "court":
        return Viewer("court", user.court_position)
    return Viewer(user.role)


#: every viewer there is: each role, each court position (and a court user with none)
ALL_VIEWERS = (
    Viewer("admin"),
    Viewer("coordinator"),
    Viewer("therapist"),
    *(Viewer("court", position) for position in (*COURT_POSITIONS, None)),
)

_COURT_ALERTS = frozenset({"missed_contact", "technical_failure"})
_THERAPIST_ALERTS = frozenset({"crisis", "reachability", "missed_contact", "outcome_pending"})

#: alert kind → the viewers who see it (and may acknowledge it)
ALERT_VIEWERS: dict[str, frozenset[Viewer]] = {
    kind: frozenset(
        viewer
        for viewer in ALL_VIEWERS
        if viewer.role == "coordinator"
        or (viewer.role == "therapist" and kind in _THERAPIST_ALERTS)
        or (viewer.is_court and kind in _COURT_ALERTS)
    )
    for kind in ALERT_KINDS
}


def visible_alert_kinds(viewer: Viewer) -> tuple[str, ...]:
    """The alert kinds this viewer sees."""
    return tuple(kind for kind in ALERT_KINDS if viewer in ALERT_VIEWERS[kind])


def may_see_alert(viewer: Viewer, kind: str, audience: str) -> bool:
    """Whether this viewer sees an alert of that kind and audience (team matters: never court)."""
    if viewer.is_court and audience != "court":
        return False
    return viewer in ALERT_VIEWERS.get(kind, frozenset())


def alert_audiences(viewer: Viewer) -> tuple[str, ...]:
    """The audiences of the alerts this viewer may see: court users never see team matters."""
    if viewer.is_court:
        return ("court",)
    return ("court", "team") if viewer.is_clinical else ()


def may_acknowledge(viewer: Viewer, kind: str, audience: str) -> bool:
    """Whether this viewer may acknowledge such an alert: whoever sees it, admins never."""
    return viewer.role != "admin" and may_see_alert(viewer, kind, audience)


def may_read_ack_note(viewer: Viewer, author_role: str | None) -> bool:
    """Whether this viewer reads an acknowledgement note written by someone of that role.

    The treatment team reads every note; a court user only notes written by court users.
    """
    if viewer.is_clinical:
        return True
    return viewer.is_court and author_role == "court"


def may_see_message(viewer: Viewer, purpose: str) -> bool:
    """Whether this viewer may see that a message of this purpose was sent (not its text)."""
    if viewer.is_clinical:
        return True
    if viewer.is_court:
        declared = PURPOSES.get(purpose)
        return declared is not None and declared.is_court_visible and purpose not in CRISIS_PURPOSES
    return False


def visible_purposes(viewer: Viewer) -> tuple[str, ...]:
    """The message purposes this viewer may see sent."""
    return tuple(name for name in PURPOSES if may_see_message(viewer, name))


def may_read_message_text(viewer: Viewer) -> bool:
    """Message texts (and his replies) hold check-in answers: the treatment team only."""
    return viewer.is_clinical


#: who verifies a miss and may justify it afterwards (DESIGN: the coordinator or the
#: supervision officer)
JUSTIFIERS = frozenset({Viewer("coordinator"), Viewer("court", "supervision_officer")})


def may_justify(viewer: Viewer) -> bool:
    """Whether this viewer may justify a past miss."""
    return viewer in JUSTIFIERS


#: whom a court document (the status-hearing report, its CSV and PDF) is written for,
#: whoever prints it; and whom the court's live room speaks to
COURT_DOCUMENT = Viewer("court")

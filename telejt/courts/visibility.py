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

Court positions are each listed. A miss's alert is raised unverified: each court
names the positions that see unverified notices (by default the judge and the
supervision officer); the others (by default the prosecutor and the defender) see it
once the coordinator or the supervision officer verified it (CNPP art. 174/198: a
breach is asserted only once verified as unjustified). The treatment team sees every
notice of its kinds, verified or not.
"""

from __future__ import annotations

from collections.abc import Iterable
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


#: the positions that see unverified notices in a court that set none of its own
DEFAULT_UNVERIFIED_POSITIONS = ("judge", "supervision_officer")


def sees_unverified(viewer: Viewer, unverified_positions: Iterable[str]) -> bool:
    """Whether this viewer sees a notice before it is verified, in a court that lets
    ``unverified_positions`` see them (a court user without a position reads as a judge)."""
    if not viewer.is_court:
        return True
    return (viewer.position or "judge") in set(unverified_positions)


def court_positions_seeing(
    verification: str | None, unverified_positions: Iterable[str]
) -> tuple[str, ...]:
    """The court positions that see a notice in this verification state."""
    if verification != "unverified":
        return COURT_POSITIONS
    chosen = set(unverified_positions)
    return tuple(position for position in COURT_POSITIONS if position in chosen)


def visible_alert_kinds(viewer: Viewer) -> tuple[str, ...]:
    """The alert kinds this viewer sees."""
    return tuple(kind for kind in ALERT_KINDS if viewer in ALERT_VIEWERS[kind])


def may_see_alert(
    viewer: Viewer,
    kind: str,
    audience: str,
    verification: str | None = None,
    unverified_positions: Iterable[str] = DEFAULT_UNVERIFIED_POSITIONS,
) -> bool:
    """Whether this viewer sees an alert of that kind, audience and verification state
    (team matters: never court; unverified: only the positions the court lets see them)."""
    if viewer.is_court and audience != "court":
        return False
    if verification == "unverified" and not sees_unverified(viewer, unverified_positions):
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


def may_verify(viewer: Viewer) -> bool:
    """Whether this viewer may verify a miss's alert (the same people who justify one)."""
    return viewer in JUSTIFIERS


def may_set_unverified_positions(viewer: Viewer) -> bool:
    """Admins keep the courts' settings; coordinators run their courts' programs."""
    return viewer.role in ("admin", "coordinator")


#: whom a court document (the status-hearing report, its CSV and PDF) is written for,
#: whoever prints it; and whom the court's live room speaks to
COURT_DOCUMENT = Viewer("court")

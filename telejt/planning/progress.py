"""Progress recognised: the team told when a phase may be reviewed, him when he reaches a milestone.

The scheduler's planner pass runs :func:`recognise_progress`. Both facts come from
:class:`telejt.reports.figures.Progress`, the figures the dashboard and the report
show, read for a group of participants in one statement; each is raised once (a
dedupe key), so running the pass again, or on two schedulers, changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from telejt.alerts.models import Alert
from telejt.alerts.services import raise_alert
from telejt.clock import now
from telejt.extensions import db
from telejt.participants.models import Participant
from telejt.reports.figures import Progress, figures_for
from telejt.sms.models import OutboundMessage
from telejt.sms.outbox import queue_message

#: participants read per statement
PROGRESS_GROUP = 500


def phase_review_key(participant: Participant) -> str:
    """One phase-review alert per participant and phase."""
    return f"phase_review:{participant.id}:{participant.protocol_id}:{participant.phase_id}"


def milestone_key(participant: Participant, progress: Progress) -> str:
    """One SMS per milestone of a run without a verified miss of his (a new run earns it
    again)."""
    since = progress.last_missed_at or participant.created_at
    return (
        f"participant:{participant.id}:milestone:{progress.milestone}:"
        f"{since.astimezone(UTC):%Y%m%dT%H%M%S}"
    )


def recognise_progress(at: datetime | None = None) -> int:
    """Raise due phase-review alerts and queue due milestone SMS; returns how many of both.

    Only the latest milestone reached is sent (a participant past 90 days when this
    first runs gets that one, not three messages at once). The dispatcher holds it
    through quiet hours; he is not texted when he opted out or gave no SMS consent.
    """
    moment = at or now()
    ids = db.session.scalars(
        select(Participant.id).where(Participant.status == "active").order_by(Participant.id)
    ).all()
    raised = 0
    for start in range(0, len(ids), PROGRESS_GROUP):
        group = list(ids[start : start + PROGRESS_GROUP])
        progress = {
            pid: figures.progress
            for pid, figures in figures_for(
                group, moment - timedelta(days=1), moment, moment
            ).items()
        }
        participants = {
            p.id: p
            for p in db.session.scalars(select(Participant).where(Participant.id.in_(group)))
        }
        alert_keys = set(
            db.session.scalars(
                select(Alert.dedupe_key).where(
                    Alert.participant_id.in_(group), Alert.kind == "phase_review"
                )
            )
        )
        message_keys = set(
            db.session.scalars(
                select(OutboundMessage.idempotency_key).where(
                    OutboundMessage.participant_id.in_(group),
                    OutboundMessage.purpose == "milestone",
                )
            )
        )
        for pid in group:
            participant, his = participants[pid], progress[pid]
            key = phase_review_key(participant)
            if his.is_ready_for_review and key not in alert_keys:
                # the team decides: never a phase change, never the court's to see
                raise_alert(
                    participant=participant,
                    kind="phase_review",
                    severity="info",
                    dedupe_key=key,
                    audience="team",
                )
                raised += 1
            # never while a miss of his awaits verification: a person may yet find it his
            if his.recognisable_milestone is not None and participant.is_sms_reachable:
                key = milestone_key(participant, his)
                if key not in message_keys:
                    queue_message(
                        participant,
                        purpose="milestone",
                        key=key,
                        due_at=moment,
                        params={"days": his.milestone},
                    )
                    raised += 1
        try:
            db.session.commit()
        except IntegrityError:  # another scheduler raised or queued one of them meanwhile
            db.session.rollback()
    return raised

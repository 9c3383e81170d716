"""Remote sessions: the participant's link, presence evidence, late rules and the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from telejt.alerts.models import Alert
from telejt.errors import Conflict, InvalidInput
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.sessions import services
from telejt.sessions.models import ClinicalNote, PresenceEvent
from telejt.sms.models import OutboundMessage

MONDAY = datetime(2026, 3, 2, 12, tzinfo=UTC)
#: the fixture participant's first session: Tuesday 10:00 in Monterrey (UTC−6)
TUESDAY_SESSION = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)


def first_session(participant) -> Contact:
    """The participant's first planned session."""
    return db.session.scalars(
        select(Contact)
        .where(Contact.participant_id == participant.id, Contact.kind == "session")
        .order_by(Contact.starts_at)
    ).first()


@pytest.fixture
def session(frozen_clock, make_participant) -> Contact:
    """A planned video session (join window 10 min before to 15 after, late after 5)."""
    frozen_clock.set(MONDAY)
    contact = first_session(make_participant())
    assert contact.starts_at == TUESDAY_SESSION
    return contact


def events(contact: Contact) -> list[tuple[str, str]]:
    return [(e.actor, e.event) for e in services.presence_events(contact)]


# ---- the link ---------------------------------------------------------------------------


def test_link_opens_fifteen_minutes_before_and_closes_at_the_end(session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION - timedelta(minutes=15, seconds=1))
    assert services.check_link(session.join_token).verdict == "too_early"
    frozen_clock.set(TUESDAY_SESSION - timedelta(minutes=15))
    assert services.check_link(session.join_token).verdict == "ok"
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=15))
    assert services.check_link(session.join_token).verdict == "ok"
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=15, seconds=1))
    assert services.check_link(session.join_token).verdict == "closed"  # never joined
    services.participant_joined(session)  # had he joined, he could come back until the end
    assert services.check_link(session.join_token).verdict == "ok"
    frozen_clock.set(session.ends_at)
    assert services.check_link(session.join_token).verdict == "ended"


def test_forged_and_foreign_tokens_lead_nowhere(session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION)
    token = session.join_token
    forged = ("A" if token[0] != "A" else "B") + token[1:]
    for bad in (forged, token[:-1], token + "x", "", "../../etc", token.upper() + "!"):
        assert services.check_link(bad).verdict == "unknown"
    checkin = db.session.scalars(
        select(Contact).where(
            Contact.participant_id == session.participant_id, Contact.kind == "checkin"
        )
    ).first()
    assert services.check_link(checkin.join_token).verdict == "unknown"  # a /c/ token


def test_cancelled_and_phone_sessions(session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION)
    session.modality = "phone"
    assert services.check_link(session.join_token).verdict == "phone"
    session.status = "cancelled"
    assert services.check_link(session.join_token).verdict == "cancelled"


# ---- presence and status ------------------------------------------------------------------


def test_first_join_starts_the_session_then_reconnects_and_leaves(session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION - timedelta(minutes=3))
    services.participant_joined(session, detail="Mozilla/5.0 test")
    assert session.status == "in_progress"
    assert services.presence_state(session) == "waiting"
    frozen_clock.advance(minutes=10)
    services.participant_left(session)
    assert services.presence_state(session) == "left"
    frozen_clock.advance(minutes=1)
    services.participant_joined(session)
    assert events(session) == [
        ("participant", "join"),
        ("participant", "leave"),
        ("participant", "reconnect"),
    ]
    stamps = [e.at for e in services.presence_events(session)]
    assert stamps[0] == TUESDAY_SESSION - timedelta(minutes=3)
    assert stamps[2] == TUESDAY_SESSION + timedelta(minutes=8)
    assert services.first_join_at(session) == stamps[0]
    assert not services.joined_late(session)  # the first join counts, not the reconnect


def test_a_drop_within_the_grace_period_needs_no_new_admission(
    session, make_staff, frozen_clock
) -> None:
    frozen_clock.set(TUESDAY_SESSION)
    therapist = session.participant.therapist
    services.participant_joined(session)
    services.admit(session, therapist)
    assert services.presence_state(session) == "admitted"
    services.participant_left(session)
    assert services.presence_state(session) == "left"
    frozen_clock.advance(seconds=services.RECONNECT_GRACE.total_seconds())
    services.participant_joined(session)
    assert services.presence_state(session) == "admitted"  # back in time: straight in
    # a trouble report is evidence, not presence
    from telejt.sessions.waiting import report_trouble

    report_trouble(session, "video_failed")
    assert services.presence_state(session) == "admitted"


def test_admission_is_needed_again_after_a_long_absence(session, make_staff, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION)
    therapist = session.participant.therapist
    services.participant_joined(session)
    services.admit(session, therapist)
    services.participant_left(session)
    frozen_clock.advance(seconds=services.RECONNECT_GRACE.total_seconds() + 1)
    services.participant_joined(session)
    assert services.presence_state(session) == "waiting"


@pytest.mark.parametrize(
    ("minutes_after_start", "late", "proposed"),
    [(-5, False, "attended"), (5, False, "attended"), (5.02, True, "late"), (14, True, "late")],
)
def test_late_after_late_after_min(
    session, frozen_clock, minutes_after_start, late, proposed
) -> None:
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=minutes_after_start))
    services.participant_joined(session)
    assert services.joined_late(session) is late
    assert services.default_outcome(session) == proposed


def test_nobody_joined_proposes_no_show_and_the_watcher_settles_it(
    session, frozen_clock, sms, run_until
) -> None:
    assert services.default_outcome(session) == "no_show"
    run_until(session.deadline_at + timedelta(seconds=1))
    db.session.refresh(session)
    assert session.status == "missed"


def test_an_in_progress_session_is_left_to_the_therapist(session, frozen_clock, run_until) -> None:
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=2))
    services.participant_joined(session)
    db.session.commit()
    run_until(session.deadline_at + timedelta(minutes=5))
    db.session.refresh(session)
    assert session.status == "in_progress"


def test_phone_switch_is_recorded(session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION)
    therapist = session.participant.therapist
    services.switch_to_phone(session, therapist, detail="failed")
    assert session.modality == "phone"
    event = services.presence_events(session)[-1]
    assert (event.actor, event.event, event.staff_id, event.detail) == (
        "therapist",
        "phone_switch",
        therapist.id,
        "failed",
    )


# ---- identity and location ----------------------------------------------------------------


def test_identity_check_is_a_clinical_note_with_its_time(session, frozen_clock) -> None:
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=1))
    therapist = session.participant.therapist
    with pytest.raises(InvalidInput):
        services.confirm_identity_and_location(
            session,
            therapist,
            identity_confirmed=False,
            location="Casa",
            private_place=True,
            callback_confirmed=True,
        )
    with pytest.raises(InvalidInput):
        services.confirm_identity_and_location(
            session,
            therapist,
            identity_confirmed=True,
            location="  ",
            private_place=True,
            callback_confirmed=True,
        )
    note = services.confirm_identity_and_location(
        session,
        therapist,
        identity_confirmed=True,
        location="Calle Hidalgo 12, Monterrey",
        private_place=True,
        callback_confirmed=False,
    )
    assert note.created_at == TUESDAY_SESSION + timedelta(minutes=1)
    assert "Calle Hidalgo 12" in note.body
    assert services.identity_checks(session) == [note]
    # not presence evidence: nothing about where he is goes where court users may read
    assert (
        db.session.scalar(select(PresenceEvent).where(PresenceEvent.contact_id == session.id))
        is None
    )
    assert db.session.get(ClinicalNote, note.id).author_id == therapist.id


# ---- outcome ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "attribution", "reason"),
    [
        ("attended", "attended", None, None),
        ("late", "late", None, None),
        ("no_show", "missed", "participant", "no_show"),
        ("excused", "excused", "excused", "excused_by_staff"),
        ("technical_failure", "missed", "system", "technical_failure"),
    ],
)
def test_outcomes_map_to_status_and_attribution(
    session, frozen_clock, outcome, status, attribution, reason
) -> None:
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=50))
    therapist = session.participant.therapist
    services.mark_outcome(session, outcome, therapist, note="  nota  ")
    assert (session.status, session.attribution, session.attribution_reason) == (
        status,
        attribution,
        reason,
    )
    assert session.outcome_note == "nota"
    assert session.outcome_by_id == therapist.id
    assert session.closed_at == frozen_clock.now()
    alert = db.session.scalar(select(Alert).where(Alert.contact_id == session.id))
    if outcome == "technical_failure":
        assert alert is not None and alert.attribution == "system"
    if outcome in ("attended", "late", "excused"):
        assert alert is None


def test_outcome_refusals(session, frozen_clock) -> None:
    therapist = session.participant.therapist
    frozen_clock.set(TUESDAY_SESSION - timedelta(minutes=1))
    with pytest.raises(Conflict) as refused:  # not yet: a conflict with the time, not bad input
        services.mark_outcome(session, "attended", therapist)
    assert "outcome" in refused.value.fields
    services.mark_outcome(session, "excused", therapist, "avisó con tiempo")  # ahead is fine
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=1))
    with pytest.raises(InvalidInput):
        services.mark_outcome(session, "present", therapist)
    session.status = "cancelled"
    with pytest.raises(Conflict):
        services.mark_outcome(session, "attended", therapist)


def test_attended_sends_the_confirmation_sms_once(session, frozen_clock, sms, run_until) -> None:
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=1))
    services.participant_joined(session)
    db.session.commit()
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=50))
    sms.sent.clear()
    therapist = session.participant.therapist
    services.mark_outcome(session, "attended", therapist)
    services.mark_outcome(session, "attended", therapist)  # marked twice: one SMS
    db.session.commit()
    run_until(frozen_clock.now() + timedelta(minutes=1))
    confirmations = [m for m in sms.sent if "Registramos tu asistencia" in m["body"]]
    assert len(confirmations) == 1
    assert confirmations[0]["body"].endswith(
        "Registramos tu asistencia a la cita del martes 3 de marzo, 10:00 a.m. Gracias."
    )  # GSM-7 text: "sesión" loses its accent (see sms.text)
    assert confirmations[0]["to"] == session.participant.phone


def test_a_correction_withdraws_an_unsent_confirmation(session, frozen_clock, sms) -> None:
    frozen_clock.set(TUESDAY_SESSION + timedelta(minutes=50))
    therapist = session.participant.therapist
    services.mark_outcome(session, "attended", therapist)
    services.mark_outcome(session, "technical_failure", therapist, "se cayó el servicio")
    message = db.session.scalar(
        select(OutboundMessage).where(
            OutboundMessage.idempotency_key == f"contact:{session.id}:attendance"
        )
    )
    assert (message.status, message.status_reason) == ("cancelled", "outcome_changed")


# ---- who may run or see a session ---------------------------------------------------------


def test_only_his_therapist_runs_it_and_a_coordinator_of_his_court_sees_it(
    session, make_staff
) -> None:
    participant = session.participant
    therapist = participant.therapist
    other_therapist = make_staff("therapist", courts=[participant.court])
    coordinator = make_staff("coordinator", courts=[participant.court])
    foreign_coordinator = make_staff("coordinator")
    judge = make_staff("court", courts=[participant.court], court_position="judge")
    assert services.may_run_session(therapist, session)
    assert services.may_open_console(therapist, session)
    assert not services.may_run_session(coordinator, session)
    assert services.may_open_console(coordinator, session)
    for outsider in (other_therapist, foreign_coordinator, judge):
        assert not services.may_open_console(outsider, session)
        assert not services.may_run_session(outsider, session)

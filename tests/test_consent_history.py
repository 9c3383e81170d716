"""Consents with history: video needs telehealth consent, and what the court reads of an
answer follows the consent in force when he gave it (see also test_dashboard_views)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from telejt.clock import now
from telejt.errors import InvalidInput
from telejt.extensions import db
from telejt.participants.services import record_consent, revoke_consent
from telejt.planning.models import Contact
from telejt.planning.services import add_session


def future_sessions(participant: Any) -> list[Contact]:
    return list(
        db.session.scalars(
            select(Contact)
            .where(
                Contact.participant_id == participant.id,
                Contact.kind == "session",
                Contact.starts_at > now(),
                Contact.status.in_(("scheduled", "confirmed")),
            )
            .order_by(Contact.starts_at)
        )
    )


def test_without_telehealth_consent_his_sessions_are_by_phone(
    frozen_clock, make_participant
) -> None:
    participant = make_participant(consents={"sms": True, "share_with_court": True})
    sessions = future_sessions(participant)
    assert sessions and {s.modality for s in sessions} == {"phone"}


def test_telehealth_consent_given_or_revoked_replans_his_coming_sessions(
    frozen_clock, make_participant, make_staff
) -> None:
    coordinator = make_staff("coordinator")
    participant = make_participant(consents={"sms": True})
    assert {s.modality for s in future_sessions(participant)} == {"phone"}
    record_consent(participant, "telehealth", coordinator)
    db.session.commit()
    assert {s.modality for s in future_sessions(participant)} == {"video"}
    revoke_consent(participant, "telehealth", coordinator)
    db.session.commit()
    assert {s.modality for s in future_sessions(participant)} == {"phone"}


def test_a_video_session_without_telehealth_consent_is_refused(
    frozen_clock, make_participant
) -> None:
    participant = make_participant(consents={"sms": True})
    with pytest.raises(InvalidInput) as refused:
        add_session(participant, now() + timedelta(days=2), 50, "video")
    assert "modality" in refused.value.fields
    phone = add_session(participant, now() + timedelta(days=2), 50, "phone")
    assert phone.modality == "phone"

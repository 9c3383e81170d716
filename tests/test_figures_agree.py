"""The judge's dashboard, the API and the status-hearing report give the same figures.

One participant with every status and attribution a contact can have, sessions and
check-ins apart; each place that shows figures to a court is read the way a user
reads it (pages and JSON), and all must say the same.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_api_access import call
from test_dashboard_views import add_contact, login

from telejt.auth.services import create_api_token
from telejt.clock import now
from telejt.dashboard.queries import compliance_row
from telejt.extensions import db
from telejt.planning.models import Contact
from telejt.reports.figures import COUNTS, consecutive_misses, figures_of
from telejt.reports.report import build_report
from telejt.sessions.models import PresenceEvent

DAY = timedelta(days=1)


def phone_session(participant: Any, starts_at: datetime) -> Contact:
    """A phone session nobody marked: over, still scheduled."""
    contact = add_contact(participant, starts_at, "scheduled")
    contact.modality = "phone"
    return contact


@pytest.fixture
def rich(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    """Every status and attribution over the last four weeks, plus noise outside them."""
    court = make_court()
    judge = make_staff("court", courts=[court], court_position="judge", password=None)
    therapist = make_staff("therapist", courts=[court])
    person = make_participant(court=court, therapist=therapist, name="Eva Sintética")
    other = make_participant(court=court, therapist=therapist, name="Otro Sintético")
    start = now() - 27 * DAY
    add_contact(person, start, "attended")
    add_contact(person, start + 1 * DAY, "late")
    add_contact(
        person, start + 2 * DAY, "missed", "participant", reason="reminder_delivered", verified=True
    )
    add_contact(person, start + 3 * DAY, "missed", "system", reason="sms_undelivered:30006")
    add_contact(person, start + 4 * DAY, "missed", "system", reason="technical_failure")
    add_contact(person, start + 5 * DAY, "excused", "excused", reason="declined_ahead")
    add_contact(person, start + 6 * DAY, "excused", "excused", reason="excused_by_staff")
    add_contact(person, start + 7 * DAY, "cancelled")
    joined = add_contact(person, start + 8 * DAY, "in_progress")
    db.session.add(
        PresenceEvent(contact_id=joined.id, actor="participant", event="join", at=joined.starts_at)
    )
    phone_session(person, now() - 2 * DAY)
    add_contact(person, start + 10 * DAY, "completed", kind="checkin")
    add_contact(person, start + 11 * DAY, "missed", "participant", kind="checkin", verified=True)
    add_contact(person, start + 12 * DAY, "missed", "system", kind="checkin")
    add_contact(person, start + 13 * DAY, "excused", "excused", kind="checkin")
    add_contact(person, start + 9 * DAY, "incomplete", kind="checkin")  # answered in part
    # his latest run since the last check-in he answered: three misses of his (one above,
    # verified; these two not yet), two of the system's and an excused check-in in between,
    # which neither break nor count
    add_contact(person, now() - 5 * DAY, "missed", "participant", kind="checkin")
    add_contact(person, now() - 4 * DAY, "missed", "system", kind="checkin")
    add_contact(person, now() - 3 * DAY, "missed", "participant", kind="checkin")
    # outside every period shown: counts only for the run and the last kept contact
    add_contact(person, now() - 90 * DAY, "attended")
    add_contact(other, start, "missed", "participant")
    db.session.commit()
    # the prosecutor sees only verified notices (the court's default)
    prosecutor = make_staff("court", courts=[court], court_position="prosecutor", password=None)
    token = create_api_token(judge)[1]
    prosecutor_token = create_api_token(prosecutor)[1]
    db.session.commit()
    return {
        "judge": judge,
        "person": person,
        "token": token,
        "prosecutor": prosecutor,
        "prosecutor_token": prosecutor_token,
    }


EXPECTED = {
    "session": {
        "kept": 2,
        "missed_participant": 1,
        "missed_system": 2,
        "missed_unconfirmed": 0,
        "missed_opted_out": 0,
        "excused": 2,
        "outcome_pending": 2,
        "incomplete": 0,
        "missed_unverified": 0,
    },
    "checkin": {
        "kept": 1,
        "missed_participant": 3,
        "missed_system": 2,
        "missed_unconfirmed": 0,
        "missed_opted_out": 0,
        "excused": 1,
        "outcome_pending": 0,
        "incomplete": 1,
        "missed_unverified": 2,
    },
}
#: what a position that sees only verified notices reads: the two unverified misses of
#: his are in none of his figures
EXPECTED_VERIFIED_ONLY = {
    "session": EXPECTED["session"],
    "checkin": {**EXPECTED["checkin"], "missed_participant": 1, "missed_unverified": 0},
}


def table_figures(page: str) -> dict[str, dict[str, str]]:
    """The figures table of a page (dashboard or report), by kind."""
    found: dict[str, dict[str, str]] = {}
    for kind in ("session", "checkin"):
        row = page[page.index(f'<tr data-kind="{kind}">') :]
        row = row[: row.index("</tr>")]
        found[kind] = dict(re.findall(r'data-figure="(\w+)">([^<]*)<', row))
    return found


def test_dashboard_api_and_report_agree(client, rich):
    person, at = rich["person"], now()
    period = {"from": at - timedelta(days=30), "to": at}

    # the one definition
    figures = figures_of(person.id, period["from"], period["to"], at)
    for kind, kind_figures in (("session", figures.sessions), ("checkin", figures.checkins)):
        assert {n: getattr(kind_figures, n) for n in COUNTS} == EXPECTED[kind]
    assert figures.consecutive_misses == 3 == consecutive_misses(person.id)
    assert figures.consecutive_unverified == 2
    assert figures.consecutive_system_misses == 2 == consecutive_misses(person.id, "system")

    # the API's JSON
    query = f"from={period['from'].isoformat()}&to={period['to'].isoformat()}".replace("+", "%2B")
    response = call(client, rich["token"], "GET", f"/participants/{person.id}/compliance?{query}")
    assert response.status_code == 200, response.get_json()
    api = response.get_json()
    assert {k: {n: api["figures"][k + "s"][n] for n in COUNTS} for k in EXPECTED} == EXPECTED
    assert api["outcome_pending"] == 2
    assert api["attendance_rate"] == pytest.approx(3 / 7)
    assert api["consecutive_misses"] == 3 and api["consecutive_system_misses"] == 2

    # the dashboard: its aggregate query, its row and its participant page
    row = compliance_row(rich["judge"], person.id, at)
    assert row is not None and row.figures == figures
    assert row.outcome_pending == 2 and row.consecutive_misses == 3
    assert row.attendance_rate == pytest.approx(api["attendance_rate"])
    login(client, rich["judge"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    fragment = client.get(f"/dashboard/participants/{person.id}/row").get_data(True)
    assert 'data-outcome-pending="2"' in fragment
    # the live row shows each kind's rate, as the figures count it
    assert "Sesiones 67" in fragment and "reportes 25" in fragment

    # the report, over days that cover the same contacts
    zone = ZoneInfo(person.timezone)
    first, last = (at - 29 * DAY).astimezone(zone).date(), at.astimezone(zone).date()
    report = build_report(person, first, last)
    assert report.figures == figures
    assert report.attendance_rate == pytest.approx(api["attendance_rate"])
    assert len(report.outcome_pending) == 2
    report_page = client.get(
        f"/reports/participants/{person.id}?from={first.isoformat()}&to={last.isoformat()}"
    ).get_data(True)

    shown = table_figures(page)
    assert table_figures(report_page) == shown
    for kind, counts in EXPECTED.items():
        assert {n: int(shown[kind].get(n, 0)) for n in COUNTS} == counts
    assert "67" in shown["session"]["attendance_rate"]  # 2 kept of 2 + 1 his
    assert "25" in shown["checkin"]["attendance_rate"]  # 1 kept of 1 + 3 his


def test_a_position_that_sees_only_verified_notices_reads_the_same_figures_without_them(
    client, rich
):
    """The prosecutor (verified notices only, by default) reads one set of figures
    everywhere: his unverified misses in none of them, not in his rate, not in his run."""
    person, at = rich["person"], now()
    period = {"from": at - timedelta(days=30), "to": at}
    figures = figures_of(person.id, period["from"], period["to"], at).as_seen(False)
    for kind, kind_figures in (("session", figures.sessions), ("checkin", figures.checkins)):
        assert {n: getattr(kind_figures, n) for n in COUNTS} == EXPECTED_VERIFIED_ONLY[kind]
    assert (figures.consecutive_misses, figures.consecutive_unverified) == (1, 0)

    query = f"from={period['from'].isoformat()}&to={period['to'].isoformat()}".replace("+", "%2B")
    api = call(
        client, rich["prosecutor_token"], "GET", f"/participants/{person.id}/compliance?{query}"
    ).get_json()
    assert {
        k: {n: api["figures"][k + "s"][n] for n in COUNTS} for k in EXPECTED_VERIFIED_ONLY
    } == EXPECTED_VERIFIED_ONLY
    assert api["attendance_rate"] == pytest.approx(3 / 5)  # 3 kept of 3 + 2 verified his
    assert api["consecutive_misses"] == 1 and api["consecutive_unverified"] == 0
    assert api["by_attribution"]["participant"] == 2

    row = compliance_row(rich["prosecutor"], person.id, at)
    assert row is not None and row.figures == figures
    assert row.consecutive_misses == 1
    login(client, rich["prosecutor"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    fragment = client.get(f"/dashboard/participants/{person.id}/row").get_data(True)
    assert "sin verificar" not in fragment and "reportes 50" in fragment
    zone = ZoneInfo(person.timezone)
    first, last = (at - 29 * DAY).astimezone(zone).date(), at.astimezone(zone).date()
    assert build_report(person, first, last, sees_unverified=False).figures == figures
    report_page = client.get(
        f"/reports/participants/{person.id}?from={first.isoformat()}&to={last.isoformat()}"
    ).get_data(True)
    shown = table_figures(page)
    assert table_figures(report_page) == shown
    for kind, counts in EXPECTED_VERIFIED_ONLY.items():
        assert {n: int(shown[kind].get(n, 0)) for n in COUNTS} == counts

    # the judge's dashboard, sorted by runs of misses, reads his run with the unverified
    # ones; the prosecutor's, without them
    assert compliance_row(rich["judge"], person.id, at).consecutive_misses == 3


def test_an_unmarked_phone_session_is_pending_everywhere(client, rich):
    """The case that once disagreed: the API and report counted it, the dashboard did not."""
    person, at = rich["person"], now()
    row = compliance_row(rich["judge"], person.id, at)
    api = call(client, rich["token"], "GET", f"/participants/{person.id}/compliance").get_json()
    assert row is not None
    assert row.figures.sessions.outcome_pending == api["figures"]["sessions"]["outcome_pending"]


def progress_shown(page: str) -> dict[str, str]:
    """The progress a page shows (dashboard participant page, row or report)."""
    return {
        name: value.strip() for name, value in re.findall(r'data-progress="(\w+)">([^<]*)<', page)
    }


@pytest.fixture
def progressing(app_ctx, frozen_clock, make_court, make_staff, make_participant):
    """A streak after his own miss 40 days ago, with what neither breaks nor extends it."""
    court = make_court()
    judge = make_staff("court", courts=[court], court_position="judge", password=None)
    person = make_participant(court=court, name="Pablo Sintético")
    coordinator = make_staff("coordinator", courts=[court])
    person.created_at = now() - 200 * DAY
    person.phase_started_at = now() - 13 * 7 * DAY - DAY  # 13 weeks of phase 2's 12
    db.session.query(Contact).filter(Contact.participant_id == person.id).delete()
    add_contact(person, now() - 60 * DAY, "attended")  # before his miss: not in the streak
    add_contact(person, now() - 40 * DAY, "missed", "participant", verified=True)
    add_contact(person, now() - 35 * DAY, "attended")
    add_contact(person, now() - 30 * DAY, "excused", "excused", reason="declined_ahead")
    add_contact(person, now() - 25 * DAY, "missed", "system", reason="technical_failure")
    add_contact(person, now() - 24 * DAY, "missed", "unconfirmed")
    add_contact(person, now() - 20 * DAY, "incomplete", kind="checkin")
    add_contact(person, now() - 10 * DAY, "late")
    add_contact(person, now() - 5 * DAY, "completed", kind="checkin")
    db.session.commit()
    token = create_api_token(judge)[1]
    db.session.commit()
    return {"judge": judge, "person": person, "token": token, "coordinator": coordinator}


def test_progress_agrees_everywhere(client, progressing):
    """Streak, weeks in the phase, days without a miss of his and milestone: one answer."""
    person, at = progressing["person"], now()
    progress = figures_of(person.id, at - 30 * DAY, at, at).progress
    # only his own miss breaks the streak; excused, the system's, unconfirmed and a
    # check-in answered in part neither break nor extend it
    assert progress.streak == 3
    assert progress.days_without_miss == 39  # from the miss's deadline, 15 minutes in
    assert progress.milestone == 30
    assert (progress.weeks_in_phase, progress.min_weeks) == (13, 12)
    assert progress.is_ready_for_review

    api = call(
        client, progressing["token"], "GET", f"/participants/{person.id}/compliance"
    ).get_json()
    assert api["figures"]["progress"]["streak"] == 3
    assert api["figures"]["progress"]["milestone"] == 30
    assert api["figures"]["progress"]["weeks_in_phase"] == 13
    assert "is_ready_for_review" not in api["figures"]["progress"]  # the team's, not the court's

    row = compliance_row(progressing["judge"], person.id, at)
    assert row is not None and row.progress == progress

    login(client, progressing["judge"])
    page = client.get(f"/dashboard/participants/{person.id}").get_data(True)
    fragment = client.get(f"/dashboard/participants/{person.id}/row").get_data(True)
    zone = ZoneInfo(person.timezone)
    first, last = (at - 29 * DAY).astimezone(zone).date(), at.astimezone(zone).date()
    assert build_report(person, first, last).figures.progress == progress
    report_page = client.get(
        f"/reports/participants/{person.id}?from={first.isoformat()}&to={last.isoformat()}"
    ).get_data(True)
    shown = progress_shown(page)
    assert shown["streak"] == "3" and shown["weeks_in_phase"] == "13 de 12 semanas"
    assert shown["milestone"] == "30 días sin faltas"
    assert progress_shown(report_page) == shown
    in_row = progress_shown(fragment)
    assert {k: in_row[k] for k in ("streak", "weeks_in_phase", "milestone")} == {
        k: shown[k] for k in ("streak", "weeks_in_phase", "milestone")
    }


def test_an_unverified_miss_neither_breaks_progress_nor_lets_it_be_recognised(client, progressing):
    """Milestones are days without a verified miss; while one of his awaits verification
    nothing is recognised (no milestone SMS, no phase review), and once a person verifies
    it as his, it counts from then."""
    from telejt.planning.verification import verify_miss

    person, at = progressing["person"], now()
    recent = add_contact(person, at - 3 * DAY, "missed", "participant")
    db.session.commit()
    progress = figures_of(person.id, at - 30 * DAY, at, at).progress
    assert (progress.streak, progress.days_without_miss, progress.milestone) == (3, 39, 30)
    assert progress.awaiting_verification
    assert progress.recognisable_milestone is None and not progress.is_ready_for_review

    coordinator = progressing["coordinator"]
    verify_miss(recent, coordinator, "participant", "Llamamos: no se conectó.")
    db.session.commit()
    assert recent.verified_at is not None and recent.verified_by_id == coordinator.id
    progress = figures_of(person.id, at - 30 * DAY, at, at).progress
    assert (progress.streak, progress.days_without_miss, progress.milestone) == (0, 2, None)
    assert not progress.awaiting_verification

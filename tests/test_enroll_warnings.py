"""At enrolment the coordinator is told which first contacts come too soon to be reminded."""

from __future__ import annotations

from datetime import UTC, datetime

from test_participants_pages import World, enroll_data, login, world  # noqa: F401  (fixture)

#: Tuesday 2026-03-03, 09:52 in Monterrey: eight minutes before a Tuesday 10:00 session
EIGHT_MINUTES_BEFORE = datetime(2026, 3, 3, 15, 52, tzinfo=UTC)
#: Tuesday 2026-03-03, 07:00 in Monterrey: three hours before it
THREE_HOURS_BEFORE = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)


def _enroll(client, world: World) -> str:  # noqa: F811  (fixture)
    login(client, world.coordinator)
    data = enroll_data(world.participant.court_id, world.therapist.id)
    response = client.post("/participants/new", data=data, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_enrolled_eight_minutes_before_his_first_session(client, world, frozen_clock) -> None:  # noqa: F811
    frozen_clock.set(EIGHT_MINUTES_BEFORE)
    page = _enroll(client, world)
    assert "Participante inscrito: Juan Sintético." in page
    assert 'class="flash flash-warning"' in page
    assert "Sesión del mar 3 mar 2026, 10:00 (hora de Monterrey)" in page
    assert "no recibirá ningún recordatorio. Avísele por otro medio." in page


def test_three_hours_ahead_only_the_day_before_reminder_is_lost(
    client,
    world,  # noqa: F811  (fixture)
    frozen_clock,
) -> None:
    frozen_clock.set(THREE_HOURS_BEFORE)
    page = _enroll(client, world)
    assert "su recordatorio de 24 horas antes ya no puede enviarse a tiempo." in page
    assert "ningún recordatorio" not in page


def test_no_warning_when_there_is_time(client, world, frozen_clock) -> None:  # noqa: F811
    # the fixture's Monday 09:00: the Tuesday session is a day and an hour away
    page = _enroll(client, world)
    assert "flash-warning" not in page

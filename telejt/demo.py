"""A synthetic demo court in Nuevo León. Every name, number and case here is invented."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from telejt.auth.models import StaffUser
from telejt.auth.services import create_staff_user
from telejt.clock import frozen_at, now
from telejt.courts.models import Court
from telejt.courts.services import create_court
from telejt.demo_history import (
    HISTORY_WEEKS,
    replay_history,
    stage_the_present,
    verify_old_alerts,
)
from telejt.extensions import db
from telejt.live import discard_pending
from telejt.participants.models import Participant
from telejt.participants.services import enroll_participant

DEMO_COURT_NAME = "Juzgado de Tratamiento de Adicciones de Monterrey (demostración)"
DEMO_PASSWORD = "telejt-demo-2026"

#: (email, role, name, court position)
DEMO_STAFF = (
    ("admin@demo.telejt.mx", "admin", "Administración de Ejemplo", None),
    ("coordinacion@demo.telejt.mx", "coordinator", "Coordinación de Ejemplo", None),
    ("terapia1@demo.telejt.mx", "therapist", "Terapeuta Uno de Ejemplo", None),
    ("terapia2@demo.telejt.mx", "therapist", "Terapeuta Dos de Ejemplo", None),
    ("jueza@demo.telejt.mx", "court", "Jueza de Ejemplo", "judge"),
    ("mp@demo.telejt.mx", "court", "Ministerio Público de Ejemplo", "prosecutor"),
    ("defensa@demo.telejt.mx", "court", "Defensoría de Ejemplo", "defender"),
    ("umeca@demo.telejt.mx", "court", "Supervisión UMECA de Ejemplo", "supervision_officer"),
)

#: (name, zone, locale, phase, slots); numbers are +52 81 5550 01NN, invented
DEMO_PARTICIPANTS = (
    ("Ana Demo Uno", "America/Monterrey", "es_MX", "1", [("mon", "10:00"), ("thu", "10:00")]),
    ("Beto Demo Dos", "America/Monterrey", "es_MX", "2", [("tue", "11:00")]),
    ("Carla Demo Tres", "America/Mexico_City", "es_MX", "2", [("wed", "09:30")]),
    ("David Demo Cuatro", "America/Tijuana", "es_MX", "1", [("tue", "17:00"), ("fri", "17:00")]),
    ("Elena Demo Cinco", "America/Tijuana", "en", "3", [("mon", "18:00")]),
    ("Fer Demo Seis", "America/Cancun", "es_MX", "3", [("thu", "12:00")]),
    ("Gabo Demo Siete", "America/Hermosillo", "es_MX", "4", [("fri", "16:00")]),
    ("Hilda Demo Ocho", "America/Ciudad_Juarez", "es_MX", "2", [("wed", "18:30")]),
    ("Iván Demo Nueve", "America/Matamoros", "es_MX", "1", [("mon", "13:00"), ("wed", "13:00")]),
    ("Julia Demo Diez", "America/Mazatlan", "es_MX", "4", [("sat", "10:00")]),
    ("Kevin Demo Once", "America/Merida", "en", "2", [("tue", "19:00")]),
    ("Luisa Demo Doce", "America/Monterrey", "es_MX", "3", [("thu", "08:30")]),
)


#: who, by number above, plays the present: a crisis, a reschedule request, the waiting room
CRISIS_NUMBER, RESCHEDULE_NUMBER, WAITING_NUMBER = 6, 7, 8


class DemoRefused(Exception):
    """The demo may not be reset here (production, or a database holding real courts)."""


def load_demo() -> str:
    """Create the demo court with eight weeks of history once; running it again changes nothing."""
    if db.session.scalar(select(Court.id).where(Court.name == DEMO_COURT_NAME)):
        return _("La demostración ya estaba cargada.")
    until = now()
    court = create_court(
        name=DEMO_COURT_NAME,
        state="Nuevo León",
        timezone="America/Monterrey",
        team_phone="+52 81 5550 0000",  # synthetic, like every number here
        on_call_phone="+52 81 5550 0099",
    )
    staff = {}
    for email, role, name, position in DEMO_STAFF:
        staff[email] = create_staff_user(
            email=email,
            role=role,
            name=name,
            court_ids=[] if role == "admin" else [court.id],
            password=DEMO_PASSWORD,
            court_position=position,
        )
    therapists = [staff["terapia1@demo.telejt.mx"], staff["terapia2@demo.telejt.mx"]]
    coordinator = staff["coordinacion@demo.telejt.mx"]
    people: dict[int, Participant] = {}
    with frozen_at(until - timedelta(weeks=HISTORY_WEEKS)):
        for n, (name, zone, locale, phase, slots) in enumerate(DEMO_PARTICIPANTS, start=1):
            people[n] = enroll_participant(
                court_id=court.id,
                case_number=f"DEMO-{n:03d}/2026",
                name=name,
                phone=f"+52 81 5550 01{n:02d}",
                therapist_id=therapists[n % 2].id,
                protocol_id="remote-outpatient",
                phase_id=phase,
                session_slots=[{"weekday": d, "time": t} for d, t in slots],
                consents={"sms": True, "telehealth": True, "share_with_court": n % 3 != 0},
                locale=locale,
                timezone=zone,
                by=coordinator,
            )
        discard_pending()
        db.session.commit()
    numbers = {person.id: n for n, person in people.items()}
    replay_history(list(people.values()), numbers, until)
    verify_old_alerts(coordinator, until)
    stage_the_present(
        people[CRISIS_NUMBER], people[RESCHEDULE_NUMBER], people[WAITING_NUMBER], until
    )
    return _(
        "Demostración cargada: %(staff)d cuentas (contraseña %(password)s) y %(n)d "
        "participantes con %(weeks)d semanas de historial.",
        staff=len(DEMO_STAFF),
        password=DEMO_PASSWORD,
        n=len(DEMO_PARTICIPANTS),
        weeks=HISTORY_WEEKS,
    )


def wipe_demo() -> None:
    """Delete every row of the database, which must hold the demo court and nothing else.

    Refused in production, and when any other court or staff account exists: a reset
    must never reach a real participant's record or a real account. The audit log goes
    too (on PostgreSQL by declaring the transaction the retention job, the one thing its
    trigger lets delete).
    """
    if current_app.config["TELEJT_ENV"] == "production":
        raise DemoRefused(_("No se reinicia la demostración en producción (TELEJT_ENV)."))
    others = db.session.scalar(
        select(func.count()).select_from(Court).where(Court.name != DEMO_COURT_NAME)
    )
    if others:
        raise DemoRefused(
            _(
                "La base de datos tiene %(count)d juzgado(s) además del de demostración: "
                "no se borra nada.",
                count=others,
            )
        )
    accounts = db.session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(StaffUser.email.not_in([email for email, *_rest in DEMO_STAFF]))
    )
    if accounts:
        raise DemoRefused(
            _(
                "La base de datos tiene %(count)d cuenta(s) de personal además de las de "
                "demostración: no se borra nada.",
                count=accounts,
            )
        )
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL telejt.audit_retention = 'on'"))
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()

"""Plain words for statuses, attributions and evidence, shared by the dashboard and reports."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from telejt.sms.purposes import PURPOSES

CONTACT_KIND_LABELS = {"session": _l("Sesión"), "checkin": _l("Reporte (check-in)")}

CONTACT_STATUS_LABELS = {
    "scheduled": _l("Programado"),
    "confirmed": _l("Confirmado"),
    "declined": _l("Avisó que no asistirá"),
    "in_progress": _l("En curso"),
    "attended": _l("Asistió"),
    "late": _l("Asistió con retraso"),
    "missed": _l("No realizado"),
    "excused": _l("Justificado"),
    "cancelled": _l("Cancelado"),
    "completed": _l("Respondido"),
    "incomplete": _l("Respondido en parte"),
    # not a stored status: a session he joined, over, that nobody has marked yet
    "outcome_pending": _l("Resultado pendiente de registrar"),
}

#: what the therapist marks (telejt.sessions.services.OUTCOMES)
OUTCOME_LABELS = {
    "attended": _l("Asistió"),
    "late": _l("Asistió con retraso"),
    "no_show": _l("No se presentó"),
    "excused": _l("Justificada"),
    "technical_failure": _l("Falla técnica (no se le atribuye)"),
}

#: how a miss reads to a judge: the words matter as much as the colour
ATTRIBUTION_LABELS = {
    "participant": _l("Inasistencia del participante"),
    "system": _l("Falla del sistema"),
    "unconfirmed": _l("Sin constancia de que el aviso le llegó (no se le atribuye)"),
    "opted_out": _l("Se dio de baja de los SMS (su decisión; no es falla del sistema)"),
    "excused": _l("Justificada"),
    "unattributed": _l("Sin atribuir"),
}

ALERT_KIND_LABELS = {
    "missed_contact": _l("Contacto no cumplido"),
    "reachability": _l("No es posible contactarlo"),
    "crisis": _l("Señal de crisis"),
    "reschedule_request": _l("Pide reprogramar"),
    "technical_failure": _l("Falla técnica"),
    "outcome_pending": _l("Resultado de sesión sin registrar"),
    "phase_review": _l("Lista para revisión de fase"),
}

#: a miss's alert before and after a person verified it (telejt.planning.verification)
VERIFICATION_LABELS = {
    "unverified": _l("Contacto no realizado, sin verificar"),
    "verified": _l("Verificada"),
}
VERIFICATION_OUTCOME_LABELS = {
    "participant": _l("Falta del participante"),
    "justified": _l("Justificada"),
    "system_failure": _l("Falla del sistema"),
}
SEVERITY_LABELS = {"info": _l("Informativa"), "warning": _l("Aviso"), "urgent": _l("Urgente")}

#: the watcher's attribution reasons (the part before any ":")
REASON_LABELS = {
    "reminder_delivered": _l("El recordatorio le fue entregado"),
    "reminder_sent_unconfirmed": _l(
        "El recordatorio salió, pero el operador nunca confirmó que le llegara"
    ),
    "sms_undelivered": _l("Los SMS no le llegaron"),
    "no_sms_consent": _l("Sin consentimiento para recibir SMS"),
    "opted_out": _l(
        "Había pedido no recibir más SMS (su decisión): el equipo debe buscarlo por otro medio"
    ),
    "no_reminder_in_time": _l(
        "Ningún recordatorio podía llegarle a tiempo (se programó demasiado cerca de la cita "
        "o en sus horas de descanso)"
    ),
    "missed_after_opt_out": _l(
        "Faltó a un contacto después de darse de baja de los SMS: hay que buscarlo por otro medio"
    ),
    "justified_by_staff": _l("Justificada por el equipo"),
    "system_failure_verified": _l("Verificada como falla del sistema"),
    "verified_participant": _l("Verificada por el equipo como inasistencia suya"),
    "send_interrupted": _l("El envío se interrumpió"),
    "not_reminded": _l("No se le envió ningún recordatorio"),
    "reminder_not_sent": _l("Un recordatorio previsto no llegó a enviarse"),
    "provider_outage": _l("El servicio de SMS no estaba disponible: un recordatorio no salió"),
    "declined_ahead": _l("Avisó con anticipación que no asistiría"),
    "checkin_incomplete": _l("Respondió una parte de las preguntas antes del cierre"),
    # the therapist's marking (telejt.sessions.services.OUTCOMES)
    "no_show": _l("El terapeuta registró que no se presentó"),
    "excused_by_staff": _l("El terapeuta la registró como justificada"),
    "technical_failure": _l("Falla técnica en la sesión (no se le atribuye)"),
    "joined_outcome_not_recorded": _l(
        "El participante entró a la sesión; el terapeuta aún no registra el resultado"
    ),
    "phone_outcome_not_recorded": _l(
        "Sesión por teléfono: el terapeuta aún no registra si se realizó la llamada"
    ),
    # alerts raised by the SMS conversation (telejt.conversation)
    "sms_opted_out": _l("Pidió no recibir más SMS (su decisión): hay que buscarlo por otro medio"),
    "declined_by_sms": _l("Avisó por SMS que no podrá asistir"),
    "risk_words": _l("Escribió palabras de riesgo en un mensaje"),
    "checkin_answer": _l("Respondió con una señal de crisis en su reporte"),
    "ambiguous_reply": _l(
        "Su respuesta podría ser una señal de crisis (también podía responder a otra cosa)"
    ),
}
#: what every status-hearing report says, in HTML, CSV and PDF
REPORT_DISCLAIMER = _l(
    "Este informe documenta; no sanciona. Toda medida se decide en audiencia. Un contacto "
    "no cumplido no es por sí solo un incumplimiento: las fallas del sistema, las faltas sin "
    "constancia de que el aviso le llegó y las posteriores a su baja de los SMS no cuentan "
    "en su asistencia."
)
#: appended to a possible-crisis reason when he said his reply was for something else
CLARIFIED_LABEL = _l("después aclaró que respondía a otra cosa")

MESSAGE_STATUS_LABELS = {
    "pending": _l("Pendiente"),
    "sending": _l("Enviándose"),
    "queued": _l("En cola del operador"),
    "sent": _l("Enviado"),
    "delivered": _l("Entregado"),
    "undelivered": _l("No entregado"),
    "failed": _l("Falló"),
    "skipped": _l("No enviado"),
    "cancelled": _l("Cancelado"),
    "needs_review": _l("Por revisar"),
}

#: what telejt understood of an SMS he sent (telejt.sms.models.InboundMessage.meaning)
MEANING_LABELS = {
    "confirm": _l("confirmó"),
    "decline": _l("avisó que no podrá"),
    "answer": _l("respuesta a su reporte"),
    "stop": _l("pidió no recibir más SMS"),
    "start": _l("pidió volver a recibir SMS"),
    "help": _l("pidió ayuda"),
    "crisis": _l("palabras de riesgo: llegó al equipo"),
    "acknowledgement": _l("acuse («ok», «gracias»)"),
    "ask_back": _l("no quedó claro: se le preguntó qué quiso decir"),
    "unknown": _l("no se entendió"),
}

#: the heading of an outbound SMS in a timeline: "sent" only for one that left
OUTBOUND_HEADINGS = {
    "pending": _l("SMS programado"),
    "sending": _l("SMS enviándose"),
    "skipped": _l("SMS no enviado"),
    "cancelled": _l("SMS cancelado"),
    "needs_review": _l("SMS por revisar (no se sabe si salió)"),
}
SENT_HEADING = _l("SMS enviado")

#: every message purpose in words (declared with the purpose)
MESSAGE_PURPOSE_LABELS = {name: declared.label for name, declared in PURPOSES.items()}

PRESENCE_LABELS = {
    "join": _l("Entró"),
    "leave": _l("Salió"),
    "reconnect": _l("Se reconectó"),
    "admit": _l("Admitido"),
    "phone_switch": _l("Cambio a teléfono"),
    "nudge": _l("Aviso para entrar"),
    "trouble": _l("Falla en su conexión (la reportó su página)"),
}

PRESENCE_ACTOR_LABELS = {
    "participant": _l("participante"),
    "therapist": _l("terapeuta"),
    "system": _l("sistema"),
}


def label(labels: Mapping[str, object], key: str | None) -> str:
    """The words for a code, or the code itself when there are none (never hide a fact)."""
    if key is None:
        return ""
    return str(labels.get(key, key))


def outbound_heading(status: str) -> str:
    """How a timeline names an outbound SMS: "SMS enviado" only once it left."""
    return str(OUTBOUND_HEADINGS.get(status, SENT_HEADING))


def reason_label(reason: str | None) -> str:
    """An attribution reason in words, keeping its provider error codes."""
    if not reason:
        return ""
    clarified = reason.endswith(":clarified_other")
    if clarified:
        reason = reason.removesuffix(":clarified_other")
    code, _, detail = reason.partition(":")
    words = label(REASON_LABELS, code)
    words = f"{words} ({detail})" if detail else words
    return f"{words}; {CLARIFIED_LABEL}" if clarified else words


def reached_note(purpose_name: str, when: str) -> str:
    """Which message reached him and when, for a miss held against him."""
    return gettext(
        "Mensaje que le llegó: «%(purpose)s», el %(when)s.",
        purpose=label(MESSAGE_PURPOSE_LABELS, purpose_name),
        when=when,
    )


def unconfirmed_note(purpose_name: str, when: str) -> str:
    """Which message went out without a receipt, for an unconfirmed miss."""
    return gettext(
        "Se envió: %(purpose)s, el %(when)s; el operador nunca confirmó que le llegara.",
        purpose=label(MESSAGE_PURPOSE_LABELS, purpose_name),
        when=when,
    )


def justification_note(text: str, when: str) -> str:
    """A miss staff justified afterwards: why and when."""
    return gettext("Justificada el %(when)s: %(reason)s", when=when, reason=text)


def withheld_note() -> str:
    """An unverified miss of his, for a position that sees only verified notices."""
    return gettext("En verificación por el equipo")


def unverified_note() -> str:
    """A miss nobody verified yet: the court must not read it as a breach."""
    return gettext("Sin verificar todavía: no se ha confirmado que sea un incumplimiento")


def outcome_pending_note(count: int) -> str:
    """What a judge must read about sessions whose outcome is not recorded yet."""
    return gettext(
        "%(count)s sesión(es) terminaron sin que el terapeuta registrara el resultado, aunque "
        "el participante sí entró: no cuentan como asistencia ni como falta hasta que se "
        "registre.",
        count=count,
    )

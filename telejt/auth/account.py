"""A staff member's own account: his password, his second factor, his open sessions."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from telejt.audit.services import record_access
from telejt.auth.blueprint import bp
from telejt.auth.forms import (
    MEXICAN_ZONES,
    ChangePasswordForm,
    CodeForm,
    ConfirmForm,
    LanguageSwitchForm,
    PreferencesForm,
    TotpOffForm,
    password_error,
    select_choices,
)
from telejt.auth.models import StaffSession
from telejt.auth.services import AccountError, set_password, verify_password
from telejt.auth.sessions import current_staff_session, end_all_sessions, end_session, open_sessions
from telejt.auth.totp import (
    grouped,
    new_secret,
    provisioning_uri,
    qr_svg,
    totp_enabled,
    totp_required,
    verify_code,
)
from telejt.clock import now
from telejt.extensions import db
from telejt.reports.formatting import zone_city


def preferences_form(formdata: Any = None) -> PreferencesForm:
    """His language and zone, the zone's options named by their cities."""
    form = PreferencesForm(formdata=formdata)
    form.timezone.choices = select_choices(
        [("", _("La de mi juzgado"))] + [(zone, zone_city(zone)) for zone in MEXICAN_ZONES]
    )
    if formdata is None:
        form.locale.data = current_user.locale or ""
        form.timezone.data = current_user.timezone or ""
    return form


def _account_page(
    password_form: ChangePasswordForm | None = None, prefs: PreferencesForm | None = None
) -> str:
    return render_template(
        "auth/account.html",
        preferences_form=prefs or preferences_form(),
        password_form=password_form or ChangePasswordForm(formdata=None),
        sessions=open_sessions(current_user),
        current=current_staff_session(),
        totp_on=totp_enabled(),
        totp_required=totp_required(current_user),
        off_form=TotpOffForm(formdata=None),
        confirm=ConfirmForm(),
    )


@bp.get("/account")
@login_required
def account() -> str:
    """Password, second factor and open sessions of the logged-in staff member."""
    return _account_page()


@bp.post("/account/preferences")
@login_required
def account_preferences() -> Any:
    """Save his language and zone: every staff page follows them from the next one on."""
    form = preferences_form(request.form)
    if not form.validate_on_submit():
        return _account_page(prefs=form), 400
    current_user.locale = form.locale.data or None
    current_user.timezone = form.timezone.data or None
    record_access(current_user.id, "account.preferences", "staff_user", current_user.id)
    db.session.commit()
    flash(_("Preferencias guardadas."), "info")
    return redirect(url_for("auth.account"))


@bp.post("/account/language")
@login_required
def account_language() -> Response:
    """The header's language switch: saved on his account, back to the page he was on."""
    form = LanguageSwitchForm(request.form)
    if form.validate_on_submit():
        current_user.locale = form.locale.data
        record_access(current_user.id, "account.language", "staff_user", current_user.id)
        db.session.commit()
    target = form.next.data or ""
    # only a path of this site: never an address elsewhere ("//host", "https://…")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("auth.account")
    return redirect(target)


@bp.post("/account/password")
@login_required
def account_password() -> Any:
    """Change his own password: every other session of the account ends."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(form), 400
    if not verify_password(current_user, form.current.data or ""):
        form.current.errors = [_("La contraseña actual no es correcta.")]
        return _account_page(form), 400
    try:
        ended = set_password(
            current_user, form.password.data or "", keep_session=current_staff_session()
        )
    except AccountError as exc:
        db.session.rollback()
        form.password.errors = [password_error(exc)]
        return _account_page(form), 400
    record_access(
        current_user.id,
        "staff.password_change",
        "staff_user",
        current_user.id,
        detail={"sessions": ended},
    )
    db.session.commit()
    flash(_("Contraseña cambiada. Sus otras sesiones (%(n)d) se cerraron.", n=ended), "info")
    return redirect(url_for("auth.account"))


@bp.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def account_totp() -> Any:
    """Set up the authenticator app: scan, then type a first code to confirm it."""
    if not totp_enabled():
        abort(404)
    user = current_user
    if user.has_totp:
        return redirect(url_for("auth.account"))
    if user.totp_secret is None:
        user.totp_secret = new_secret()
        db.session.commit()
    form = CodeForm()
    if form.validate_on_submit():
        if verify_code(user, form.code.data or ""):
            user.totp_enabled_at = now()
            current = current_staff_session()
            if current is not None:
                current.second_factor_at = now()
            ended = end_all_sessions(user, "second_factor_change", keep=current)
            record_access(
                user.id,
                "staff.second_factor_on",
                "staff_user",
                user.id,
                detail={"sessions": ended},
            )
            db.session.commit()
            flash(_("Segundo factor activado. Se pedirá un código en cada inicio de sesión."))
            return redirect(url_for("auth.account"))
        db.session.commit()  # the code's time step is remembered even when wrong
        form.code.errors = [_("El código no es válido. Use el que su aplicación muestra ahora.")]
    uri = provisioning_uri(user, user.totp_secret)
    return render_template(
        "auth/totp_setup.html",
        form=form,
        qr=qr_svg(uri),
        secret=grouped(user.totp_secret),
        required=totp_required(user),
    ), (400 if form.errors else 200)


@bp.post("/account/second-factor/off")
@login_required
def account_totp_off() -> Any:
    """Turn the second factor off (not for admins while it is required)."""
    user = current_user
    if not user.has_totp or totp_required(user):
        abort(403)
    form = TotpOffForm()
    valid = form.validate_on_submit()
    if not valid or not verify_password(user, form.password.data or ""):
        flash(_("Contraseña o código incorrectos."), "error")
        return redirect(url_for("auth.account"))
    if not verify_code(user, form.code.data or ""):
        db.session.commit()
        flash(_("Contraseña o código incorrectos."), "error")
        return redirect(url_for("auth.account"))
    user.totp_secret = None
    user.totp_enabled_at = None
    record_access(user.id, "staff.second_factor_off", "staff_user", user.id)
    db.session.commit()
    flash(_("Segundo factor desactivado."), "info")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def account_end_session(session_id: int) -> Response:
    """Close one of his sessions (another browser, a lost phone)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    row = db.session.get(StaffSession, session_id)
    if row is None or row.staff_id != current_user.id:
        abort(404)
    end_session(row, "revoked")
    record_access(current_user.id, "staff.session_end", "staff_session", row.id)
    db.session.commit()
    flash(_("Sesión cerrada."), "info")
    current = current_staff_session()
    if current is not None and current.id == row.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/end-others")
@login_required
def account_end_other_sessions() -> Response:
    """Close every session of his but this one."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = end_all_sessions(current_user, "revoked", keep=current_staff_session())
    record_access(
        current_user.id,
        "staff.sessions_end",
        "staff_user",
        current_user.id,
        detail={"sessions": ended},
    )
    db.session.commit()
    flash(_("Sesiones cerradas: %(n)d.", n=ended), "info")
    return redirect(url_for("auth.account"))

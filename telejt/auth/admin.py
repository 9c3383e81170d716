"""The admin's staff pages: accounts, their passwords, sessions, second factor and API tokens.

Admins manage courts, staff and tokens (DESIGN): nothing here shows a participant.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from telejt.audit.services import record_access
from telejt.auth.access import roles_required
from telejt.auth.blueprint import bp
from telejt.auth.forms import (
    ConfirmForm,
    NewPasswordForm,
    StaffForm,
    TokenForm,
    password_error,
    select_choices,
)
from telejt.auth.models import ApiToken, StaffUser
from telejt.auth.services import (
    AccountError,
    create_api_token,
    create_staff_user,
    deactivate_staff_user,
    password_reset_token,
    revoke_api_token,
    set_password,
)
from telejt.auth.sessions import end_all_sessions, open_sessions
from telejt.courts.models import Court
from telejt.extensions import db


def _staff_or_404(staff_id: int) -> StaffUser:
    user = db.session.get(StaffUser, staff_id)
    if user is None:
        abort(404)
    return user


@bp.get("/admin/staff")
@roles_required("admin")
def staff_list() -> str:
    """Every staff account, with its role and courts."""
    users = db.session.scalars(
        select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.name)
    ).all()
    return render_template("auth/staff_list.html", users=users)


@bp.route("/admin/staff/new", methods=["GET", "POST"])
@roles_required("admin")
def staff_new() -> Any:
    """Create a staff account."""
    form = StaffForm()
    courts = db.session.scalars(select(Court).order_by(Court.name)).all()
    form.court_ids.choices = select_choices((c.id, c.name) for c in courts)
    if form.is_submitted():
        # Check the cross-field rules even when a field failed, so every problem shows at once.
        is_valid = form.validate()
        errors = _staff_form_errors(form)
        if is_valid and not errors:
            try:
                user = create_staff_user(
                    email=form.email.data or "",
                    name=form.name.data,
                    role=form.role.data or "",
                    court_ids=form.court_ids.data or [],
                    court_position=form.court_position.data or None,
                    password=form.password.data or None,
                )
            except AccountError as exc:
                errors = {exc.field: _account_error_message(exc)}
            else:
                record_access(
                    current_user.id,
                    "staff.create",
                    "staff_user",
                    user.id,
                    detail={"role": user.role, "courts": user.court_ids},
                )
                db.session.commit()
                flash(_("Cuenta creada para %(email)s.", email=user.email), "info")
                return redirect(url_for("auth.staff_detail", staff_id=user.id))
        for field, message in errors.items():
            getattr(form, field).errors = [*getattr(form, field).errors, message]
        db.session.rollback()
        return render_template("auth/staff_new.html", form=form), 400
    return render_template("auth/staff_new.html", form=form)


def _staff_form_errors(form: StaffForm) -> dict[str, str]:
    errors: dict[str, str] = {}
    if form.role.data == "court" and not form.court_position.data:
        errors["court_position"] = _("Indique el cargo del usuario en el juzgado.")
    if form.role.data != "court" and form.court_position.data:
        errors["court_position"] = _("Solo los usuarios del juzgado tienen cargo.")
    if form.role.data != "admin" and not form.court_ids.data:
        errors["court_ids"] = _("Elija al menos un juzgado.")
    return errors


def _account_error_message(exc: AccountError) -> str:
    messages = {
        "email": _("Ya existe una cuenta con ese correo, o no es un correo válido."),
        "court": _("Elija al menos un juzgado existente."),
        "court_position": _("Cargo no válido para este rol."),
        "password": password_error(exc),
        "role": _("Rol no válido."),
    }
    return messages.get(exc.field, exc.message)


def _detail_page(
    user: StaffUser,
    *,
    password_form: NewPasswordForm | None = None,
    token_form: TokenForm | None = None,
    new_token: str | None = None,
) -> str:
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.staff_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template(
        "auth/staff_detail.html",
        user=user,
        tokens=tokens,
        sessions=open_sessions(user),
        password_form=password_form or NewPasswordForm(formdata=None),
        token_form=token_form or TokenForm(formdata=None),
        new_token=new_token,
        confirm=ConfirmForm(),
    )


@bp.get("/admin/staff/<int:staff_id>")
@roles_required("admin")
def staff_detail(staff_id: int) -> str:
    """One account: password, reset link, sessions, second factor, API tokens, deactivation."""
    return _detail_page(_staff_or_404(staff_id))


@bp.post("/admin/staff/<int:staff_id>/password")
@roles_required("admin")
def staff_set_password(staff_id: int) -> Any:
    """The admin sets a new password (and so clears a lock)."""
    user = _staff_or_404(staff_id)
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _detail_page(user, password_form=form), 400
    try:
        ended = set_password(user, form.password.data or "")
    except AccountError as exc:
        db.session.rollback()
        form.password.errors = [password_error(exc)]
        return _detail_page(user, password_form=form), 400
    record_access(
        current_user.id, "staff.password_set", "staff_user", user.id, detail={"sessions": ended}
    )
    db.session.commit()
    flash(
        _(
            "Contraseña cambiada para %(email)s; sus sesiones abiertas (%(n)d) se cerraron.",
            email=user.email,
            n=ended,
        ),
        "info",
    )
    return redirect(url_for("auth.staff_detail", staff_id=user.id))


@bp.post("/admin/staff/<int:staff_id>/reset-link")
@roles_required("admin")
def staff_reset_link(staff_id: int) -> str:
    """Make a one-hour, single-use link for the user to choose a password."""
    user = _staff_or_404(staff_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not user.is_active:
        abort(409)
    link = url_for("auth.reset_password", token=password_reset_token(user), _external=True)
    record_access(current_user.id, "staff.reset_link_created", "staff_user", user.id)
    db.session.commit()
    return render_template("auth/reset_link.html", user=user, link=link)


@bp.post("/admin/staff/<int:staff_id>/deactivate")
@roles_required("admin")
def staff_deactivate(staff_id: int) -> Response:
    """Close an account and revoke its tokens."""
    user = _staff_or_404(staff_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash(_("No puede desactivar su propia cuenta."), "error")
        return redirect(url_for("auth.staff_detail", staff_id=user.id))
    deactivate_staff_user(user)
    record_access(current_user.id, "staff.deactivate", "staff_user", user.id)
    db.session.commit()
    flash(_("Cuenta desactivada: %(email)s.", email=user.email), "info")
    return redirect(url_for("auth.staff_detail", staff_id=user.id))


@bp.post("/admin/staff/<int:staff_id>/tokens/<int:token_id>/revoke")
@roles_required("admin")
def staff_revoke_token(staff_id: int, token_id: int) -> Response:
    """Revoke one API token: it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.staff_id != staff_id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke_api_token(token)
    record_access(
        current_user.id,
        "api_token.revoke",
        "api_token",
        token.id,
        detail={"staff_id": staff_id, "prefix": token.prefix},
    )
    db.session.commit()
    flash(_("Token %(prefix)s… revocado.", prefix=token.prefix), "info")
    return redirect(url_for("auth.staff_detail", staff_id=staff_id))


@bp.post("/admin/staff/<int:staff_id>/sessions/end")
@roles_required("admin")
def staff_end_sessions(staff_id: int) -> Response:
    """End every session of an account (a lost laptop): its pages and sockets close."""
    user = _staff_or_404(staff_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    keep = None
    if user.id == current_user.id:
        from telejt.auth.sessions import current_staff_session

        keep = current_staff_session()
    ended = end_all_sessions(user, "revoked", keep=keep)
    record_access(
        current_user.id, "staff.sessions_end", "staff_user", user.id, detail={"sessions": ended}
    )
    db.session.commit()
    flash(_("Sesiones cerradas: %(n)d.", n=ended), "info")
    return redirect(url_for("auth.staff_detail", staff_id=user.id))


@bp.post("/admin/staff/<int:staff_id>/second-factor/reset")
@roles_required("admin")
def staff_reset_second_factor(staff_id: int) -> Response:
    """Remove a lost second factor: the person sets a new one at his next login."""
    user = _staff_or_404(staff_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        abort(403)  # another admin must do it: one stolen session cannot remove the factor
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    ended = end_all_sessions(user, "second_factor_change")
    record_access(
        current_user.id,
        "staff.second_factor_reset",
        "staff_user",
        user.id,
        detail={"sessions": ended},
    )
    db.session.commit()
    flash(_("Segundo factor eliminado para %(email)s.", email=user.email), "info")
    return redirect(url_for("auth.staff_detail", staff_id=user.id))


@bp.post("/admin/staff/<int:staff_id>/tokens")
@roles_required("admin")
def staff_create_token(staff_id: int) -> Any:
    """A new API token, shown once on the page that answers."""
    user = _staff_or_404(staff_id)
    form = TokenForm()
    if not user.is_active or not form.validate_on_submit():
        return _detail_page(user, token_form=form), 400
    try:
        row, token = create_api_token(
            user,
            days=form.days.data,
            scope="read" if form.read_only.data else "full",
            label=form.label.data,
        )
    except AccountError as exc:
        db.session.rollback()
        form.days.errors = [exc.message]
        return _detail_page(user, token_form=form), 400
    record_access(
        current_user.id,
        "api_token.create",
        "api_token",
        row.id,
        detail={
            "staff_id": user.id,
            "prefix": row.prefix,
            "scope": row.scope,
            "days": form.days.data,
        },
    )
    db.session.commit()
    return _detail_page(user, new_token=token)

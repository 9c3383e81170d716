"""Staff login, logout, password reset links, and the admin's staff pages."""

from __future__ import annotations

import contextlib
import secrets
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from telejt.audit.services import record_access
from telejt.auth import throttle
from telejt.auth.access import roles_required
from telejt.auth.forms import (
    ConfirmForm,
    LoginForm,
    NewPasswordForm,
    StaffForm,
    select_choices,
)
from telejt.auth.models import ApiToken, StaffUser
from telejt.auth.services import (
    AccountError,
    create_staff_user,
    deactivate_staff_user,
    hash_password,
    password_reset_token,
    revoke_api_token,
    set_password,
    user_for_reset_token,
    verify_password,
)
from telejt.clock import now
from telejt.courts.models import Court
from telejt.extensions import db, login_manager

bp = Blueprint("auth", __name__, template_folder="templates")

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Inicie sesión para ver esta página.")
login_manager.login_message_category = "info"

#: where each role lands after logging in (other engineers' pages are plain paths)
HOME_BY_ROLE = {"court": "/dashboard", "therapist": "/therapist"}


ROLE_NAMES = {
    "admin": _l("Administración"),
    "coordinator": _l("Coordinación"),
    "therapist": _l("Terapeuta"),
    "court": _l("Juzgado"),
}


@bp.app_context_processor
def staff_page_helpers() -> dict[str, Any]:
    """Role names, the clock and the language for every staff template (base.html needs it)."""
    return {"role_names": ROLE_NAMES, "now": now, "get_locale": get_locale}


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """Flask-Login: the staff member of a session, if still active."""
    user = db.session.get(StaffUser, int(user_id))
    return user if user is not None and user.is_active else None


def _home_for(user: StaffUser) -> str:
    if user.role == "coordinator":
        return url_for("participants.list_participants")
    if user.role == "admin":
        return url_for("audit.audit_log")
    return HOME_BY_ROLE.get(user.role, url_for("auth.login"))


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: an absolute URL in ``next`` would be an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _check_against_dummy_hash(password: str) -> None:
    with contextlib.suppress(VerificationError):
        PasswordHasher().verify(_dummy_hash(), password)


@bp.get("/")
def index() -> Response:
    """Send logged-in staff to their role's home page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(_home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Email and password, throttled per account and per address."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    # One message for every refusal: a locked or unknown account looks like a wrong password.
    generic = _("Correo o contraseña incorrectos, o la cuenta está bloqueada por un tiempo.")
    if throttle.address_is_throttled(request.remote_addr):
        throttle.record_failed_login(None, "address_throttled")
        db.session.commit()
        flash(_("Demasiados intentos desde esta red. Espere unos minutos."), "error")
        return render_template("auth/login.html", form=form), 429
    email = (form.email.data or "").strip().lower()
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if user is not None and not user.is_active:
        user = None
    if user is None or throttle.is_locked(user):
        # Spend the time a real check takes, so timing does not tell accounts apart either.
        _check_against_dummy_hash(form.password.data or "")
    if user is not None and throttle.is_locked(user):
        throttle.record_failed_login(user, "locked")
    elif user is not None and verify_password(user, form.password.data or ""):
        throttle.record_successful_login(user)
        db.session.commit()
        session.clear()  # a fresh session: nothing from before the login carries over
        login_user(user)
        return redirect(_safe_next(request.args.get("next")) or _home_for(user))
    else:
        throttle.record_failed_login(user, "bad_password" if user else "unknown_account")
    db.session.commit()
    flash(generic, "error")
    return render_template("auth/login.html", form=form), 401


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End the session (a POST, so another site cannot log a user out with a link)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    session.clear()
    flash(_("Sesión cerrada."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    """Set a new password through a link an admin made (one hour, single use)."""
    user = user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        set_password(user, form.password.data or "")
        record_access(user.id, "staff.password_reset_link_used", "staff_user", user.id)
        db.session.commit()
        flash(_("Contraseña guardada. Ya puede iniciar sesión."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=user)


# ---- admin: staff accounts -------------------------------------------------------------


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
        "password": _("La contraseña es demasiado corta."),
        "role": _("Rol no válido."),
    }
    return messages.get(exc.field, exc.message)


@bp.get("/admin/staff/<int:staff_id>")
@roles_required("admin")
def staff_detail(staff_id: int) -> str:
    """One account: its API tokens, a new password, a reset link, deactivation."""
    user = _staff_or_404(staff_id)
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.staff_id == user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template(
        "auth/staff_detail.html",
        user=user,
        tokens=tokens,
        password_form=NewPasswordForm(),
        confirm=ConfirmForm(),
    )


@bp.post("/admin/staff/<int:staff_id>/password")
@roles_required("admin")
def staff_set_password(staff_id: int) -> Any:
    """The admin sets a new password (and so clears a lock)."""
    user = _staff_or_404(staff_id)
    form = NewPasswordForm()
    if not form.validate_on_submit():
        tokens = db.session.scalars(select(ApiToken).where(ApiToken.staff_id == user.id)).all()
        return render_template(
            "auth/staff_detail.html",
            user=user,
            tokens=tokens,
            password_form=form,
            confirm=ConfirmForm(),
        ), 400
    set_password(user, form.password.data or "")
    record_access(current_user.id, "staff.password_set", "staff_user", user.id)
    db.session.commit()
    flash(_("Contraseña cambiada para %(email)s.", email=user.email), "info")
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

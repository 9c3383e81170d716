"""Staff login (password, then a code where a second factor is set), logout, reset links.

Every login is a server-side session (telejt.auth.sessions): the cookie names it,
each request checks it, and logout, a new password or a deactivation end it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from telejt.audit.services import record_access
from telejt.auth import account, admin, throttle  # noqa: F401  (their routes)
from telejt.auth.blueprint import bp
from telejt.auth.forms import (
    POSITION_CHOICES,
    CodeForm,
    ConfirmForm,
    LanguageSwitchForm,
    LoginForm,
    NewPasswordForm,
    password_error,
)
from telejt.auth.login import check_login_code, check_password_login
from telejt.auth.models import StaffUser
from telejt.auth.services import (
    AccountError,
    set_password,
    user_for_reset_token,
)
from telejt.auth.sessions import (
    current_staff_session,
    end_session,
    start_session,
    touch_current_session,
)
from telejt.auth.totp import totp_enabled, totp_required
from telejt.clock import now
from telejt.extensions import db, login_manager

__all__ = ["bp"]

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Inicie sesión para ver esta página.")
login_manager.login_message_category = "info"

#: where each role lands after logging in (other engineers' pages are plain paths)
HOME_BY_ROLE = {"court": "/dashboard", "therapist": "/therapist"}
#: the session key of a login waiting for its second-factor code
PENDING_CODE_KEY = "code_pending"
#: how long the code may take after the password
CODE_WAIT_SECONDS = 300
#: what an admin without a second factor may open until he sets one up
SETUP_ENDPOINTS = ("auth.account_totp", "auth.logout", "auth.session_activity", "static")

ROLE_NAMES = {
    "admin": _l("Administración"),
    "coordinator": _l("Coordinación"),
    "therapist": _l("Terapeuta"),
    "court": _l("Juzgado"),
}


#: a court user's position in the proceedings, in words
POSITION_NAMES = dict(POSITION_CHOICES[1:])


@bp.app_context_processor
def staff_page_helpers() -> dict[str, Any]:
    """Role names, the clock and the language for every staff template (base.html needs it)."""
    return {
        "role_names": ROLE_NAMES,
        "position_names": POSITION_NAMES,
        "now": now,
        "get_locale": get_locale,
        "language_switch": LanguageSwitchForm,
    }


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """Flask-Login: the staff member of a live server-side session named by the cookie."""
    row = current_staff_session()
    if row is None or str(row.staff_id) != user_id:
        return None
    return row.staff


@bp.before_app_request
def keep_session_alive() -> Response | None:
    """Move the idle clock; keep an admin without a second factor on its setup page."""
    if session.get("sid") is not None:
        touch_current_session()
    if (
        current_user.is_authenticated
        and totp_required(current_user)
        and not current_user.has_totp
        and request.endpoint not in SETUP_ENDPOINTS
        and not request.path.startswith("/api/")
    ):
        flash(_("Configure su segundo factor de acceso antes de continuar."), "info")
        return redirect(url_for("auth.account_totp"))
    return None


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
    if "\\" in target:  # browsers read "/\evil.example" as "//evil.example"
        return None
    return target


def _finish_login(user: StaffUser, *, second_factor: bool, target: str | None) -> Response:
    """A fresh session for a fully authenticated user, recorded server-side."""
    session.clear()  # nothing from before the login carries over
    start_session(user, second_factor=second_factor)
    login_user(user)
    db.session.commit()
    return redirect(_safe_next(target) or _home_for(user))


@bp.get("/")
def index() -> Response:
    """Send logged-in staff to their role's home page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(_home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Email and password, throttled per account and address, per address, per account."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    # One message for every refusal: a locked or unknown account looks like a wrong password.
    generic = _("Correo o contraseña incorrectos, o la cuenta está bloqueada por un tiempo.")
    check = check_password_login(
        form.email.data or "", form.password.data or "", request.remote_addr
    )
    if check.outcome == "address_throttled":
        db.session.commit()
        flash(_("Demasiados intentos desde esta red. Espere unos minutos."), "error")
        return render_template("auth/login.html", form=form), 429
    user = check.user
    if user is not None:
        target = request.args.get("next")
        if totp_enabled() and user.has_totp:
            db.session.commit()
            session.clear()
            session[PENDING_CODE_KEY] = {
                "staff": user.id,
                "until": int(now().timestamp()) + CODE_WAIT_SECONDS,
                "next": _safe_next(target),
            }
            return redirect(url_for("auth.login_code"))
        return _finish_login(user, second_factor=False, target=target)
    db.session.commit()
    flash(generic, "error")
    return render_template("auth/login.html", form=form), 401


def _pending_code_user() -> tuple[StaffUser | None, dict[str, Any]]:
    pending = session.get(PENDING_CODE_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < now().timestamp():
        return None, {}
    user = db.session.get(StaffUser, pending.get("staff"))
    if user is None or not user.is_active or not user.has_totp:
        return None, {}
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> Any:
    """The second step: the code of the authenticator app."""
    user, pending = _pending_code_user()
    if user is None:
        session.pop(PENDING_CODE_KEY, None)
        flash(_("Vuelva a escribir su correo y contraseña."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/login_code.html", form=form)
    outcome = check_login_code(user, form.code.data or "", request.remote_addr)
    if outcome == "accepted":
        return _finish_login(user, second_factor=True, target=pending.get("next"))
    db.session.commit()
    if outcome == "locked":
        session.pop(PENDING_CODE_KEY, None)
        flash(_("Correo o contraseña incorrectos, o la cuenta está bloqueada por un tiempo."))
        return redirect(url_for("auth.login"))
    form.code.errors = [_("El código no es válido. Use el que su aplicación muestra ahora.")]
    return render_template("auth/login_code.html", form=form), 401


@bp.post("/logout")
@login_required
def logout() -> Response:
    """End the session here and on the server (a POST, so a link cannot log a user out)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    row = current_staff_session()
    if row is not None:
        end_session(row, "logout")
        record_access(current_user.id, "auth.logout", "staff_user", current_user.id)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("Sesión cerrada."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/session/activity")
@login_required
def session_activity() -> tuple[str, int]:
    """The page was used (typing, clicking): the idle clock moved (by the hook above)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return "", 204


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    """Set a new password through a link an admin made (one hour, single use)."""
    user = user_for_reset_token(token)
    if user is None:
        return render_template("auth/reset_invalid.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data or "")
        except AccountError as exc:
            db.session.rollback()
            form.password.errors = [password_error(exc)]
            return render_template("auth/reset.html", form=form, user=user), 400
        record_access(user.id, "staff.password_reset_link_used", "staff_user", user.id)
        db.session.commit()
        flash(_("Contraseña guardada. Ya puede iniciar sesión."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=user)

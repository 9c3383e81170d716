"""A court's settings page: who sees unverified notices live (coordinators and admins)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from telejt.auth.access import roles_required
from telejt.auth.forms import POSITION_CHOICES
from telejt.courts.models import Court
from telejt.courts.services import choose_unverified_positions
from telejt.courts.visibility import may_set_unverified_positions, viewer_of
from telejt.errors import InvalidInput
from telejt.extensions import db

bp = Blueprint("courts", __name__, url_prefix="/courts", template_folder="templates")

SETTERS = ("admin", "coordinator")


def _courts() -> list[Court]:
    """The courts this user keeps: every court for an admin, his own for a coordinator."""
    query = select(Court).order_by(Court.name, Court.id)
    if current_user.role != "admin":
        query = query.where(Court.id.in_(current_user.court_ids or [-1]))
    return list(db.session.scalars(query))


@bp.get("/")
@roles_required(*SETTERS)
def settings() -> str:
    """Each court's choice of positions that see a miss before it is verified."""
    return render_template(
        "courts/settings.html",
        courts=_courts(),
        positions=[(key, label) for key, label in POSITION_CHOICES if key],
    )


@bp.post("/<int:court_id>/unverified-positions")
@roles_required(*SETTERS)
def set_positions(court_id: int) -> Response:
    """Save which positions see unverified notices live; audited with what it was before."""
    if not may_set_unverified_positions(viewer_of(current_user)):
        abort(403)
    court = next((c for c in _courts() if c.id == court_id), None)
    if court is None:
        abort(404)
    try:
        choose_unverified_positions(court, request.form.getlist("positions"), current_user.id)
    except InvalidInput:
        db.session.rollback()
        flash(_("Cargo desconocido: no se guardó nada."), "error")
        return redirect(url_for("courts.settings"))
    db.session.commit()
    flash(_("Guardado: %(court)s.", court=court.name), "info")
    return redirect(url_for("courts.settings"))

"""The auth blueprint, shared by the login, account and staff administration pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

"""The production web entry point (the Procfile's ``web:``): ``gunicorn 'telejt.wsgi:app'``."""

from __future__ import annotations

from telejt import create_app
from telejt.logs import configure_logging
from telejt.startup import freeze_startup_objects

app = create_app()
configure_logging(app.config["TELEJT_LOG_LEVEL"], app.config["TELEJT_LOG_FMT"])
freeze_startup_objects()

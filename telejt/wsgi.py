"""The production web entry point (the Procfile's ``web:``): ``gunicorn 'telejt.wsgi:app'``."""

from __future__ import annotations

from telejt import create_app
from telejt.startup import freeze_startup_objects

app = create_app()
freeze_startup_objects()

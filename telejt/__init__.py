"""telejt: remote treatment and telehealth support for therapeutic justice programs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from telejt.config import load_config
from telejt.resources import data_dir


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment, with ``config`` overriding it.

    Fails with ConfigError or ProtocolError rather than run half-configured.
    Never migrates the database and never starts the scheduler.
    """
    from telejt import extensions, models  # noqa: F401  (models: register every table)
    from telejt.assets import init_assets
    from telejt.error_pages import register_error_pages
    from telejt.errortracking import init_error_tracking
    from telejt.i18n import select_locale
    from telejt.logmask import install_log_masking
    from telejt.logs import install_request_ids
    from telejt.origins import origin_check
    from telejt.protocols import load_protocols
    from telejt.receivers import connect_receivers
    from telejt.reports import runs  # noqa: F401  (the session hooks that keep runs current)
    from telejt.security import init_security, wrap_wsgi
    from telejt.sms.provider import register_outage_banner
    from telejt.sockets import SOCKET_OPTIONS, async_mode
    from telejt.sockets.redis_queue import client_manager
    from telejt.sqlite import configure_sqlite

    settings = load_config()
    if config:
        settings.update(config)
    app = Flask(__name__, instance_path=str(Path(settings["TELEJT_INSTANCE_DIR"]).resolve()))
    app.config.update(settings)
    engine_options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql"):
        # PostgreSQL's JIT compiled the dashboard's figures query for 400 ms to save a
        # few (docs/benchmarks.md): telejt's statements are short, JIT never pays here
        engine_options.setdefault("connect_args", {}).setdefault("options", "-c jit=off")
    if app.config["TELEJT_ENV"] == "production":
        # a failed statement's parameters (phones, SMS texts) stay out of the logs
        engine_options.setdefault("hide_parameters", True)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(data_dir("translations"))
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["TELEJT_DEFAULT_LOCALE"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    install_log_masking()
    init_security(app)  # before the blueprints: their <int:…> rules use its converter

    app.extensions["telejt.protocols"] = load_protocols(app.config["TELEJT_PROTOCOLS_DIR"])

    extensions.db.init_app(app)
    with app.app_context():
        configure_sqlite(extensions.db.engine)
    extensions.migrate.init_app(app, extensions.db, directory=str(data_dir("migrations")))
    extensions.babel.init_app(app, locale_selector=select_locale)
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)
    extensions.socketio.init_app(
        app,
        async_mode=async_mode(),
        client_manager=client_manager(app.config["REDIS_URL"], app.config["TELEJT_LIVE_CHANNEL"]),
        # Engine.IO takes a callable too; the stubs say a string or a list
        cors_allowed_origins=origin_check(app.config),  # type: ignore[arg-type]
        **SOCKET_OPTIONS,
    )
    install_request_ids(app)
    init_error_tracking(app.config.get("SENTRY_DSN"), app.config["TELEJT_ENV"])
    _register_blueprints(app)
    register_error_pages(app)
    connect_receivers()
    init_assets(app)
    register_outage_banner(app)
    wrap_wsgi(app)  # outermost: the socket gate and the proxy fix see every request
    return app


def _register_blueprints(app: Flask) -> None:
    from telejt.api.views import bp as api_bp
    from telejt.audit.views import bp as audit_bp
    from telejt.auth.views import bp as auth_bp
    from telejt.checkins.views import bp as checkins_bp
    from telejt.courts.views import bp as courts_bp
    from telejt.dashboard.crisis import bp as crisis_bp
    from telejt.dashboard.views import bp as dashboard_bp
    from telejt.health import bp as health_bp
    from telejt.metrics import bp as metrics_bp
    from telejt.participants.queues import bp as queues_bp
    from telejt.participants.views import bp as participants_bp
    from telejt.reports.views import bp as reports_bp
    from telejt.sessions.views import bp as sessions_bp
    from telejt.sms.views import bp as sms_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(checkins_bp)
    app.register_blueprint(participants_bp)
    app.register_blueprint(queues_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(sessions_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(courts_bp)
    app.register_blueprint(crisis_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(api_bp)

"""The one place that reads the environment, validates it, and fails loudly."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from telejt.protocols.wording import public_url_problem
from telejt.resources import CHECKOUT, data_dir, default_instance_dir

#: the project's top folder (the checkout); protocols/ and instance/ live here
#: the checkout's top level (data folders: telejt.resources, which also knows the wheel's)
PROJECT_ROOT = CHECKOUT
SMS_BACKENDS = ("console", "twilio")
LOCALES = ("es_MX", "en")
ENVIRONMENTS = ("development", "production", "testing")
#: production refuses these unless ``TELEJT_ALLOW_INSECURE`` names them
INSECURE_ALLOWANCES = ("http", "sqlite", "no-redis")
TOTP_MODES = ("off", "optional")


class ConfigError(Exception):
    """A missing or malformed setting; the message names it."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


def normalize_database_url(url: str) -> str:
    """Validate a database URL and pin the driver telejt uses (psycopg 3 on PostgreSQL)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError("DATABASE_URL", f"not a database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2", "psycopg_binary"):
            raise ConfigError("DATABASE_URL", "use postgresql:// (psycopg 3)")
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ConfigError("DATABASE_URL", f"unsupported database {backend!r}: sqlite or postgresql")
    if parsed.get_backend_name() == "postgresql" and not parsed.database:
        raise ConfigError("DATABASE_URL", "names no database")
    return parsed.render_as_string(hide_password=False)


def _url(setting: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    where = parts.path if parts.scheme == "unix" else parts.netloc  # a socket has a path
    if parts.scheme not in schemes or not where:
        raise ConfigError(setting, f"must be a {' or '.join(schemes)} URL, got {value!r}")
    return value.rstrip("/")


def _public_url(value: str) -> str:
    url = _url("TELEJT_PUBLIC_URL", value, ("http", "https"))
    problem = public_url_problem(url)
    if problem:
        raise ConfigError("TELEJT_PUBLIC_URL", problem)
    return url


def _live_channel(value: str | None, redis_url: str | None) -> str:
    """The Redis Pub/Sub channel of live events: one per deployment.

    Pub/Sub ignores Redis's database number, so two deployments on one Redis
    server would hear each other's alerts (court ids repeat). By default the
    channel carries the database number of ``REDIS_URL``, which the web and
    scheduler processes of a deployment share; ``TELEJT_LIVE_CHANNEL`` names it.
    """
    if value:
        if not re.fullmatch(r"[A-Za-z0-9:._-]{1,100}", value):
            raise ConfigError(
                "TELEJT_LIVE_CHANNEL", f"letters, digits and : . _ - (at most 100), got {value!r}"
            )
        return value
    parts = urlsplit(redis_url or "")
    number = parts.path.strip("/") if parts.scheme != "unix" else ""
    number = number or parse_qs(parts.query).get("db", ["0"])[0]
    return f"telejt-live-{number}"


def _positive_int(setting: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(setting, f"must be a whole number, got {value!r}") from None
    if number < 1:
        raise ConfigError(setting, "must be at least 1")
    return number


def _bounded_int(setting: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(setting, f"must be a whole number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(setting, f"must be from {low} to {high}, got {number}")
    return number


def _seconds(setting: str, value: str, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(setting, f"must be a number of seconds, got {value!r}") from None
    if not 0 < number <= high:
        raise ConfigError(setting, f"must be more than 0 and at most {high:g} seconds")
    return number


def _allowances(value: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(names - set(INSECURE_ALLOWANCES))
    if unknown:
        raise ConfigError(
            "TELEJT_ALLOW_INSECURE",
            f"unknown {', '.join(unknown)}: a comma list of {', '.join(INSECURE_ALLOWANCES)}",
        )
    return names


def _refuse_unsafe_production(env: Mapping[str, str], config: dict[str, Any]) -> None:
    """Production runs on https, PostgreSQL and Redis unless an operator says otherwise."""
    allowed = _allowances(env.get("TELEJT_ALLOW_INSECURE", ""))
    if config["TELEJT_ENV"] != "production":
        return
    if config["TELEJT_PUBLIC_URL"].startswith("http://") and "http" not in allowed:
        raise ConfigError(
            "TELEJT_PUBLIC_URL",
            "must be https:// in production (links in SMS and cookies would travel in clear; "
            "TELEJT_ALLOW_INSECURE=http to accept it)",
        )
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and "sqlite" not in allowed:
        raise ConfigError(
            "DATABASE_URL",
            "production needs PostgreSQL (several schedulers, one writer at a time on SQLite; "
            "TELEJT_ALLOW_INSECURE=sqlite to accept it)",
        )
    if not config["REDIS_URL"] and "no-redis" not in allowed:
        raise ConfigError(
            "REDIS_URL",
            "production needs Redis: without it alerts from the scheduler process never reach "
            "an open dashboard (TELEJT_ALLOW_INSECURE=no-redis for a single all-in-one process)",
        )


def _totp_mode(value: str) -> str:
    if value not in TOTP_MODES:
        raise ConfigError("TELEJT_TOTP", f"must be one of {', '.join(TOTP_MODES)}")
    return value


def _retention_years(value: str) -> int:
    years = _positive_int("TELEJT_RETENTION_YEARS", value)
    if years < 5:
        raise ConfigError("TELEJT_RETENTION_YEARS", "NOM-004-SSA3-2012 asks for at least 5 years")
    return years


#: a public STUN server, so video connects through most home routers with no setup
#: (set TELEJT_STUN_URLS to your own, or to "" for none)
DEFAULT_STUN = "stun:stun.l.google.com:19302"


def _ice_servers(value: str) -> list[dict[str, Any]]:
    try:
        servers = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError("TELEJT_ICE_SERVERS", f"not JSON ({exc.msg})") from None
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and isinstance(s.get("urls"), str | list) for s in servers
    ):
        raise ConfigError("TELEJT_ICE_SERVERS", 'must be a JSON list like [{"urls": "stun:…"}]')
    if any("credential" in s or "username" in s for s in servers):
        raise ConfigError(
            "TELEJT_ICE_SERVERS",
            "static TURN credentials would be public in every session page: set "
            "TELEJT_TURN_URLS and TELEJT_TURN_SECRET for short-lived ones",
        )
    return servers


def _url_list(setting: str, value: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of stun:/turn: URLs."""
    urls = tuple(url.strip() for url in value.split(",") if url.strip())
    for url in urls:
        if url.split(":", 1)[0] not in schemes or ":" not in url:
            raise ConfigError(setting, f"{url!r} is not a {' or '.join(schemes)}: URL")
    return urls


def logging_settings(env: Mapping[str, str]) -> dict[str, str]:
    """``TELEJT_LOG_LEVEL`` (INFO) and ``TELEJT_LOG_FORMAT`` (text or json), checked."""
    from telejt.logs import FORMATS, LEVELS

    level = env.get("TELEJT_LOG_LEVEL", "INFO").upper()
    if level not in LEVELS:
        raise ConfigError("TELEJT_LOG_LEVEL", f"must be one of {', '.join(LEVELS)}")
    fmt = env.get("TELEJT_LOG_FORMAT", "text").lower()
    if fmt not in FORMATS:
        raise ConfigError("TELEJT_LOG_FORMAT", f"must be one of {', '.join(FORMATS)}")
    return {"level": level, "fmt": fmt}


def _sentry_dsn(value: str) -> str | None:
    if not value:
        return None
    return _url("SENTRY_DSN", value, ("http", "https"))


def _metrics_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Who may read /metrics: a bearer token, and/or addresses (comma-separated CIDRs)."""
    token = env.get("TELEJT_METRICS_TOKEN", "")
    if token and len(token) < 16:
        raise ConfigError("TELEJT_METRICS_TOKEN", "too short: use at least 16 random characters")
    networks = []
    for item in env.get("TELEJT_METRICS_ALLOW", "").split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                "TELEJT_METRICS_ALLOW", f"{item.strip()!r} is not an address or CIDR"
            ) from None
    return {"TELEJT_METRICS_TOKEN": token or None, "TELEJT_METRICS_ALLOW": tuple(networks)}


def _turn_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """STUN by default; TURN when its URLs and the secret shared with coturn are both set."""
    turn_urls = _url_list("TELEJT_TURN_URLS", env.get("TELEJT_TURN_URLS", ""), ("turn", "turns"))
    secret = env.get("TELEJT_TURN_SECRET", "")
    if turn_urls and len(secret) < 16:
        raise ConfigError("TELEJT_TURN_SECRET", "needed with TELEJT_TURN_URLS (16+ characters)")
    return {
        "TELEJT_STUN_URLS": _url_list(
            "TELEJT_STUN_URLS", env.get("TELEJT_STUN_URLS", DEFAULT_STUN), ("stun", "stuns")
        ),
        "TELEJT_TURN_URLS": turn_urls,
        "TELEJT_TURN_SECRET": secret or None,
        "TELEJT_TURN_TTL_SECONDS": _positive_int(
            "TELEJT_TURN_TTL_SECONDS", env.get("TELEJT_TURN_TTL_SECONDS", "7200")
        ),
    }


def _development_secret(instance: Path) -> str:
    """A secret kept in instance/ so development sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flask settings from environment variables; raise ConfigError naming a bad one."""
    env = os.environ if env is None else env
    environment = env.get("TELEJT_ENV", "production")
    if environment not in ENVIRONMENTS:
        raise ConfigError("TELEJT_ENV", f"must be one of {', '.join(ENVIRONMENTS)}")
    instance = Path(env.get("TELEJT_INSTANCE_DIR") or default_instance_dir())

    secret = env.get("SECRET_KEY", "")
    if not secret:
        if environment == "production":
            raise ConfigError("SECRET_KEY", "missing (set TELEJT_ENV=development for a local one)")
        secret = (
            secrets.token_urlsafe(48) if environment == "testing" else _development_secret(instance)
        )
    elif len(secret) < 16:
        raise ConfigError("SECRET_KEY", "too short: use at least 16 random characters")

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'telejt.db'}"
    backend = env.get("TELEJT_SMS_BACKEND", "console")
    if backend not in SMS_BACKENDS:
        raise ConfigError("TELEJT_SMS_BACKEND", f"unknown backend {backend!r}: console or twilio")
    locale = env.get("TELEJT_DEFAULT_LOCALE", "es_MX")
    if locale not in LOCALES:
        raise ConfigError("TELEJT_DEFAULT_LOCALE", f"must be one of {', '.join(LOCALES)}")
    redis_url = env.get("REDIS_URL") or None
    if redis_url:
        redis_url = _url("REDIS_URL", redis_url, ("redis", "rediss", "unix"))
    public_url = env.get("TELEJT_PUBLIC_URL", "")
    public_url_given = bool(public_url)
    if not public_url:
        if environment == "production":
            raise ConfigError("TELEJT_PUBLIC_URL", "missing: the external https:// base URL")
        public_url = "http://127.0.0.1:5000"
    protocols_dir = env.get("TELEJT_PROTOCOLS_DIR") or str(data_dir("protocols"))
    if not Path(protocols_dir).is_dir():
        raise ConfigError("TELEJT_PROTOCOLS_DIR", f"no such folder: {protocols_dir}")

    config: dict[str, Any] = {
        "TELEJT_ENV": environment,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "REDIS_URL": redis_url,
        "TELEJT_LIVE_CHANNEL": _live_channel(env.get("TELEJT_LIVE_CHANNEL"), redis_url),
        "TELEJT_PUBLIC_URL": _public_url(public_url),
        #: development's default public URL follows ``telejt serve --host/--port``
        "TELEJT_PUBLIC_URL_IS_DEFAULT": not public_url_given,
        "TELEJT_SMS_BACKEND": backend,
        "TELEJT_PROTOCOLS_DIR": protocols_dir,
        "TELEJT_DEFAULT_LOCALE": locale,
        "TELEJT_ICE_SERVERS": _ice_servers(env.get("TELEJT_ICE_SERVERS", "[]")),
        **_turn_settings(env),
        **_metrics_settings(env),
        #: Sentry's DSN: errors are reported there, with nothing personal (telejt.errortracking)
        "SENTRY_DSN": _sentry_dsn(env.get("SENTRY_DSN", "")),
        **{f"TELEJT_LOG_{key.upper()}": value for key, value in logging_settings(env).items()},
        "TELEJT_PLANNING_HORIZON_DAYS": _positive_int(
            "TELEJT_PLANNING_HORIZON_DAYS", env.get("TELEJT_PLANNING_HORIZON_DAYS", "14")
        ),
        #: years a clinical record is kept after the program ends (NOM-004-SSA3-2012: at least 5)
        "TELEJT_RETENTION_YEARS": _retention_years(env.get("TELEJT_RETENTION_YEARS", "5")),
        "TELEJT_CLAIM_LEASE_SECONDS": _positive_int(
            "TELEJT_CLAIM_LEASE_SECONDS", env.get("TELEJT_CLAIM_LEASE_SECONDS", "120")
        ),
        "TELEJT_DISPATCH_THREADS": _dispatch_threads(env.get("TELEJT_DISPATCH_THREADS", "4")),
        #: minutes after a check-in's deadline in which a reply still answers its question
        "TELEJT_REPLY_GRACE_MINUTES": _positive_int(
            "TELEJT_REPLY_GRACE_MINUTES", env.get("TELEJT_REPLY_GRACE_MINUTES", "30")
        ),
        #: minutes an unacknowledged crisis alert waits before it is texted to the on-call phone
        "TELEJT_CRISIS_ESCALATION_MINUTES": _positive_int(
            "TELEJT_CRISIS_ESCALATION_MINUTES", env.get("TELEJT_CRISIS_ESCALATION_MINUTES", "15")
        ),
        #: minutes after a session's planned end before an unrecorded outcome alerts the team
        "TELEJT_OUTCOME_GRACE_MINUTES": _positive_int(
            "TELEJT_OUTCOME_GRACE_MINUTES", env.get("TELEJT_OUTCOME_GRACE_MINUTES", "60")
        ),
        "TELEJT_INSTANCE_DIR": str(instance),
        "SESSION_COOKIE_SECURE": environment == "production",
        **_security_settings(env),
        **_sms_fault_settings(env),
    }
    if backend == "twilio":
        config.update(_twilio_settings(env))
    _refuse_unsafe_production(env, config)
    return config


def _security_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Proxies, request sizes, staff sessions, API tokens, second factor, sockets."""
    return {
        #: proxies in front of the app that set X-Forwarded-For/-Proto (0: none)
        "TELEJT_PROXY_HOPS": _bounded_int(
            "TELEJT_PROXY_HOPS", env.get("TELEJT_PROXY_HOPS", "0"), 0, 5
        ),
        "MAX_CONTENT_LENGTH": 1024
        * _bounded_int(
            "TELEJT_MAX_REQUEST_KB", env.get("TELEJT_MAX_REQUEST_KB", "1024"), 16, 65536
        ),
        "TELEJT_SESSION_IDLE_MINUTES": _bounded_int(
            "TELEJT_SESSION_IDLE_MINUTES", env.get("TELEJT_SESSION_IDLE_MINUTES", "30"), 5, 1440
        ),
        "TELEJT_SESSION_MAX_HOURS": _bounded_int(
            "TELEJT_SESSION_MAX_HOURS", env.get("TELEJT_SESSION_MAX_HOURS", "12"), 1, 168
        ),
        "TELEJT_API_TOKEN_DAYS": _bounded_int(
            "TELEJT_API_TOKEN_DAYS", env.get("TELEJT_API_TOKEN_DAYS", "90"), 1, 730
        ),
        "TELEJT_TOTP": _totp_mode(env.get("TELEJT_TOTP", "optional")),
        "TELEJT_SOCKETS_MAX": _bounded_int(
            "TELEJT_SOCKETS_MAX", env.get("TELEJT_SOCKETS_MAX", "500"), 1, 100_000
        ),
        "TELEJT_SOCKETS_PER_ADDRESS": _bounded_int(
            "TELEJT_SOCKETS_PER_ADDRESS", env.get("TELEJT_SOCKETS_PER_ADDRESS", "50"), 1, 100_000
        ),
    }


def _sms_fault_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """How long a provider call may take, and when dispatch pauses for an unreachable one."""
    connect = _seconds("TELEJT_SMS_CONNECT_TIMEOUT", env.get("TELEJT_SMS_CONNECT_TIMEOUT", "5"), 60)
    read = _seconds("TELEJT_SMS_READ_TIMEOUT", env.get("TELEJT_SMS_READ_TIMEOUT", "15"), 300)
    total = _seconds("TELEJT_SMS_SEND_TIMEOUT", env.get("TELEJT_SMS_SEND_TIMEOUT", "30"), 600)
    if total < connect + read:
        raise ConfigError(
            "TELEJT_SMS_SEND_TIMEOUT",
            f"must be at least the connect and read timeouts together ({connect + read:g} s)",
        )
    return {
        "TELEJT_SMS_CONNECT_TIMEOUT": connect,
        "TELEJT_SMS_READ_TIMEOUT": read,
        "TELEJT_SMS_SEND_TIMEOUT": total,
        "TELEJT_SMS_BREAKER_FAILURES": _bounded_int(
            "TELEJT_SMS_BREAKER_FAILURES", env.get("TELEJT_SMS_BREAKER_FAILURES", "3"), 1, 100
        ),
    }


def _dispatch_threads(value: str) -> int:
    threads = _positive_int("TELEJT_DISPATCH_THREADS", value)
    if threads > 32:
        raise ConfigError("TELEJT_DISPATCH_THREADS", f"at most 32, not {threads}")
    return threads


def _twilio_settings(env: Mapping[str, str]) -> dict[str, Any]:
    sid = env.get("TWILIO_ACCOUNT_SID", "")
    if not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
        raise ConfigError("TWILIO_ACCOUNT_SID", "missing or not an account SID (AC + 32 hex)")
    token = env.get("TWILIO_AUTH_TOKEN", "")
    if len(token) < 16:
        raise ConfigError("TWILIO_AUTH_TOKEN", "missing or too short")
    service = env.get("TWILIO_MESSAGING_SERVICE_SID", "")
    sender = env.get("TWILIO_FROM_NUMBER", "")
    if service and not re.fullmatch(r"MG[0-9a-fA-F]{32}", service):
        raise ConfigError("TWILIO_MESSAGING_SERVICE_SID", "not a messaging service SID (MG…)")
    if sender and not re.fullmatch(r"\+[1-9]\d{7,14}", sender):
        raise ConfigError("TWILIO_FROM_NUMBER", "must be an E.164 number like +528100000000")
    if not service and not sender:
        raise ConfigError(
            "TWILIO_MESSAGING_SERVICE_SID", "set it or TWILIO_FROM_NUMBER for the twilio backend"
        )
    return {
        "TWILIO_ACCOUNT_SID": sid,
        "TWILIO_AUTH_TOKEN": token,
        "TWILIO_MESSAGING_SERVICE_SID": service or None,
        "TWILIO_FROM_NUMBER": sender or None,
    }

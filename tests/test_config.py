"""Settings are validated at start; a bad one is named in the error."""

from __future__ import annotations

import pytest

from telejt.config import ConfigError, load_config

BASE = {
    "TELEJT_ENV": "production",
    "SECRET_KEY": "s" * 32,
    "TELEJT_PUBLIC_URL": "https://x.mx",
    "DATABASE_URL": "postgresql://telejt@db.internal/telejt",
    "REDIS_URL": "redis://redis.internal:6379/0",
}


def _error(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(env)
    return info.value


def test_defaults_are_the_embedded_setup(tmp_path) -> None:
    config = load_config({"TELEJT_ENV": "development", "TELEJT_INSTANCE_DIR": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'telejt.db'}"
    assert config["TELEJT_SMS_BACKEND"] == "console"
    assert config["TELEJT_DEFAULT_LOCALE"] == "es_MX"
    assert config["REDIS_URL"] is None
    assert config["TELEJT_OUTCOME_GRACE_MINUTES"] == 60
    # a development secret is made once and kept
    assert (
        load_config({"TELEJT_ENV": "development", "TELEJT_INSTANCE_DIR": str(tmp_path)})[
            "SECRET_KEY"
        ]
        == config["SECRET_KEY"]
    )


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"TELEJT_SMS_BACKEND": "carrier-pigeon"}, "TELEJT_SMS_BACKEND"),
        ({"TELEJT_DEFAULT_LOCALE": "fr"}, "TELEJT_DEFAULT_LOCALE"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"TELEJT_PUBLIC_URL": "telejt.mx"}, "TELEJT_PUBLIC_URL"),
        ({"TELEJT_PUBLIC_URL": ""}, "TELEJT_PUBLIC_URL"),
        ({"TELEJT_ICE_SERVERS": "[{"}, "TELEJT_ICE_SERVERS"),
        ({"TELEJT_ICE_SERVERS": '{"urls": "stun:x"}'}, "TELEJT_ICE_SERVERS"),
        ({"TELEJT_PROTOCOLS_DIR": "/nonexistent/protocols"}, "TELEJT_PROTOCOLS_DIR"),
        ({"TELEJT_PLANNING_HORIZON_DAYS": "two weeks"}, "TELEJT_PLANNING_HORIZON_DAYS"),
        ({"TELEJT_OUTCOME_GRACE_MINUTES": "an hour"}, "TELEJT_OUTCOME_GRACE_MINUTES"),
        ({"TELEJT_OUTCOME_GRACE_MINUTES": "0"}, "TELEJT_OUTCOME_GRACE_MINUTES"),
        ({"TELEJT_ENV": "staging"}, "TELEJT_ENV"),
        ({"TELEJT_DISPATCH_THREADS": "0"}, "TELEJT_DISPATCH_THREADS"),
        ({"TELEJT_LIVE_CHANNEL": "telejt live"}, "TELEJT_LIVE_CHANNEL"),
        ({"TELEJT_DISPATCH_THREADS": "64"}, "TELEJT_DISPATCH_THREADS"),
        ({"TELEJT_DISPATCH_THREADS": "four"}, "TELEJT_DISPATCH_THREADS"),
        ({"TELEJT_PUBLIC_URL": "http://x.mx"}, "TELEJT_PUBLIC_URL"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:////srv/telejt.db"}, "DATABASE_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"TELEJT_ALLOW_INSECURE": "http,everything"}, "TELEJT_ALLOW_INSECURE"),
        ({"TELEJT_PROXY_HOPS": "-1"}, "TELEJT_PROXY_HOPS"),
        ({"TELEJT_PROXY_HOPS": "9"}, "TELEJT_PROXY_HOPS"),
        ({"TELEJT_MAX_REQUEST_KB": "lots"}, "TELEJT_MAX_REQUEST_KB"),
        ({"TELEJT_SESSION_IDLE_MINUTES": "0"}, "TELEJT_SESSION_IDLE_MINUTES"),
        ({"TELEJT_SESSION_MAX_HOURS": "1000"}, "TELEJT_SESSION_MAX_HOURS"),
        ({"TELEJT_API_TOKEN_DAYS": "0"}, "TELEJT_API_TOKEN_DAYS"),
        ({"TELEJT_TOTP": "always"}, "TELEJT_TOTP"),
        ({"TELEJT_SOCKETS_MAX": "0"}, "TELEJT_SOCKETS_MAX"),
        ({"TELEJT_SOCKETS_PER_ADDRESS": "x"}, "TELEJT_SOCKETS_PER_ADDRESS"),
        ({"TELEJT_SMS_CONNECT_TIMEOUT": "0"}, "TELEJT_SMS_CONNECT_TIMEOUT"),
        ({"TELEJT_SMS_READ_TIMEOUT": "forever"}, "TELEJT_SMS_READ_TIMEOUT"),
        ({"TELEJT_SMS_SEND_TIMEOUT": "10"}, "TELEJT_SMS_SEND_TIMEOUT"),
        ({"TELEJT_SMS_BREAKER_FAILURES": "0"}, "TELEJT_SMS_BREAKER_FAILURES"),
        ({"TELEJT_SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID"),
        (
            {
                "TELEJT_SMS_BACKEND": "twilio",
                "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                "TWILIO_AUTH_TOKEN": "t" * 32,
            },
            "TWILIO_MESSAGING_SERVICE_SID",
        ),
        (
            {
                "TELEJT_SMS_BACKEND": "twilio",
                "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                "TWILIO_AUTH_TOKEN": "t" * 32,
                "TWILIO_FROM_NUMBER": "8112345678",
            },
            "TWILIO_FROM_NUMBER",
        ),
    ],
)
def test_bad_setting_is_named(env: dict[str, str], setting: str) -> None:
    error = _error({**BASE, **env})
    assert error.setting == setting
    assert str(error).startswith(setting)


def test_postgres_urls_use_psycopg3() -> None:
    config = load_config({**BASE, "DATABASE_URL": "postgres://u:p@db.internal:5432/telejt"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal:5432/telejt"


def test_twilio_settings_accepted() -> None:
    config = load_config(
        {
            **BASE,
            "TELEJT_SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
            "TWILIO_AUTH_TOKEN": "t" * 32,
            "TWILIO_MESSAGING_SERVICE_SID": "MG" + "b" * 32,
        }
    )
    assert config["TWILIO_MESSAGING_SERVICE_SID"] == "MG" + "b" * 32
    assert config["TWILIO_FROM_NUMBER"] is None


def test_cli_refuses_to_start_with_a_bad_setting(monkeypatch, capsys) -> None:
    from telejt.cli import main

    monkeypatch.setenv("TELEJT_SMS_BACKEND", "carrier-pigeon")
    monkeypatch.setattr("sys.argv", ["telejt", "routes"])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2
    assert "TELEJT_SMS_BACKEND" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "channel"),
    [
        ({"REDIS_URL": "redis://127.0.0.1:6379/3"}, "telejt-live-3"),
        ({"REDIS_URL": "redis://127.0.0.1:6379"}, "telejt-live-0"),
        ({"REDIS_URL": "unix:///run/redis.sock?db=2"}, "telejt-live-2"),
        ({}, "telejt-live-0"),
        ({"REDIS_URL": "redis://r:6379/3", "TELEJT_LIVE_CHANNEL": "juzgados-nl"}, "juzgados-nl"),
    ],
)
def test_live_channel_is_one_per_deployment(env: dict[str, str], channel: str) -> None:
    assert load_config({**BASE, **env})["TELEJT_LIVE_CHANNEL"] == channel


def test_production_accepts_the_unsafe_only_when_told() -> None:
    unsafe = {"TELEJT_PUBLIC_URL": "http://10.0.0.5:5000", "DATABASE_URL": "", "REDIS_URL": ""}
    config = load_config({**BASE, **unsafe, "TELEJT_ALLOW_INSECURE": "http, sqlite,no-redis"})
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:")
    assert config["REDIS_URL"] is None
    # development is for one machine: none of it is refused there
    load_config({**unsafe, "TELEJT_ENV": "development", "SECRET_KEY": "s" * 32})


def test_security_defaults() -> None:
    config = load_config(BASE)
    assert config["TELEJT_PROXY_HOPS"] == 0
    assert config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert config["TELEJT_API_TOKEN_DAYS"] == 90
    assert config["TELEJT_TOTP"] == "optional"
    assert config["TELEJT_SMS_CONNECT_TIMEOUT"] == 5
    assert config["TELEJT_SMS_READ_TIMEOUT"] == 15
    assert config["TELEJT_SMS_SEND_TIMEOUT"] == 30
    assert config["SESSION_COOKIE_SECURE"] is True

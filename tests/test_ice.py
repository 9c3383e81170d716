"""Video's STUN and TURN servers: TURN credentials minted per page, short-lived, never static."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from telejt.config import ConfigError, load_config
from telejt.sessions.ice import ice_servers, turn_credentials

SECRET = "coturn-shared-secret-0123456789"
BASE = {
    "SECRET_KEY": "x" * 32,
    "TELEJT_PUBLIC_URL": "https://telejt.example.mx",
    "DATABASE_URL": "postgresql://telejt@db.example.mx/telejt",
    "REDIS_URL": "redis://redis.example.mx:6379/0",
}


def test_turn_credentials_follow_coturns_rest_scheme_and_expire(frozen_clock) -> None:
    username, credential = turn_credentials(SECRET, "participant-7", 3600)
    expiry, who = username.split(":", 1)
    assert who == "participant-7"
    assert int(expiry) == int((frozen_clock.now() + timedelta(hours=1)).timestamp())
    expected = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected  # what coturn's use-auth-secret checks
    frozen_clock.advance(hours=2)
    later, _ = turn_credentials(SECRET, "participant-7", 3600)
    assert later != username  # a later page gets new ones; these are past their expiry


def test_pages_get_stun_and_short_lived_turn(app, monkeypatch, frozen_clock) -> None:
    monkeypatch.setitem(app.config, "TELEJT_STUN_URLS", ("stun:turn.example.mx:3478",))
    monkeypatch.setitem(
        app.config, "TELEJT_TURN_URLS", ("turn:turn.example.mx:3478?transport=udp",)
    )
    monkeypatch.setitem(app.config, "TELEJT_TURN_SECRET", SECRET)
    monkeypatch.setitem(app.config, "TELEJT_TURN_TTL_SECONDS", 7200)
    with app.app_context():
        stun, turn = ice_servers("staff-3")
    assert stun == {"urls": ["stun:turn.example.mx:3478"]}
    assert turn["urls"] == ["turn:turn.example.mx:3478?transport=udp"]
    assert int(turn["username"].split(":")[0]) == int(frozen_clock.now().timestamp()) + 7200


def test_stun_by_default_and_none_when_emptied() -> None:
    assert load_config(BASE)["TELEJT_STUN_URLS"] == ("stun:stun.l.google.com:19302",)
    assert load_config({**BASE, "TELEJT_STUN_URLS": ""})["TELEJT_STUN_URLS"] == ()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"TELEJT_ICE_SERVERS": '[{"urls": "turn:t.example.mx", "username": "u", '
                                '"credential": "p"}]'}, "TELEJT_ICE_SERVERS"),
        ({"TELEJT_TURN_URLS": "turn:t.example.mx:3478"}, "TELEJT_TURN_SECRET"),
        ({"TELEJT_TURN_URLS": "http://t.example.mx", "TELEJT_TURN_SECRET": SECRET},
         "TELEJT_TURN_URLS"),
        ({"TELEJT_STUN_URLS": "turn:t.example.mx"}, "TELEJT_STUN_URLS"),
    ],
)  # fmt: skip
def test_static_or_half_configured_turn_is_refused(settings: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config({**BASE, **settings})
    assert named in str(refused.value)

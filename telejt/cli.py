"""The ``telejt`` command group (a Flask CLI)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from telejt.config import ConfigError
from telejt.resources import data_dir


def _create_app() -> Flask:
    from telejt import create_app

    return create_app()


cli = FlaskGroup(
    name="telejt",
    create_app=_create_app,
    help="telejt: remote treatment and telehealth for therapeutic justice programs.",
)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """All in one: upgrade the database, then serve the web app and run the scheduler."""
    from flask_migrate import upgrade

    from telejt.extensions import socketio
    from telejt.scheduler.runner import start_background_scheduler
    from telejt.startup import freeze_startup_objects

    upgrade()
    if current_app.config.get("TELEJT_PUBLIC_URL_IS_DEFAULT"):
        # no public URL was given: SMS links point where this server listens
        link_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        link_host = f"[{link_host}]" if ":" in link_host else link_host
        current_app.config["TELEJT_PUBLIC_URL"] = f"http://{link_host}:{port}"
    # Flask's CLI marks the process so app.run() is refused; this command is the server.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    scheduler = start_background_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]  # current_app is typed as the app, not its proxy
    freeze_startup_objects()
    click.echo(
        f"telejt: serving on http://{host}:{port} (SMS links: "
        f"{current_app.config['TELEJT_PUBLIC_URL']}, SMS backend: "
        f"{current_app.config['TELEJT_SMS_BACKEND']})"
    )
    try:
        socketio.run(
            current_app._get_current_object(),  # type: ignore[attr-defined]  # current_app is typed as the app, not its proxy
            host=host,
            port=port,
            use_reloader=False,
            allow_unsafe_werkzeug=True,
        )
    finally:
        scheduler.shutdown(wait=False)


@cli.command("demo")
@click.option("--reset", is_flag=True, help="Wipe the demo database and load the demo again.")
@with_appcontext
def demo_command(reset: bool) -> None:
    """Load a synthetic demo court, staff, participants and eight weeks of history."""
    from telejt.demo import DemoRefused, load_demo, wipe_demo

    if reset:
        try:
            wipe_demo()
        except DemoRefused as refused:
            raise click.ClickException(str(refused)) from None
    summary = load_demo()
    click.echo(summary)


@cli.group("scheduler")
def scheduler_group() -> None:
    """The scheduler: planner, dispatcher and deadline watcher."""


@scheduler_group.command("run")
@with_appcontext
def scheduler_run() -> None:
    """Run the scheduler process until stopped (several may run at once on PostgreSQL)."""
    from telejt.scheduler.runner import run_forever

    if not current_app.config["REDIS_URL"]:
        click.echo(
            "telejt: REDIS_URL is not set: live events from this process reach no browser", err=True
        )
    run_forever(current_app._get_current_object(), hard_exit=True)  # type: ignore[attr-defined]  # current_app is typed as the app, not its proxy


@scheduler_group.command("status")
@click.option(
    "--this-host",
    is_flag=True,
    help="Only schedulers of this host (a container's health check for its own scheduler).",
)
@with_appcontext
def scheduler_status(this_host: bool) -> None:
    """List scheduler heartbeats; exit 1 when none is fresh (the scheduler's health check)."""
    import socket

    from sqlalchemy import select

    from telejt.clock import now
    from telejt.extensions import db
    from telejt.health import HEARTBEAT_STALE_AFTER
    from telejt.scheduler.models import SchedulerHeartbeat

    query = select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc())
    if this_host:
        query = query.where(SchedulerHeartbeat.worker.startswith(f"{socket.gethostname()}:"))
    fresh = 0
    for heartbeat in db.session.scalars(query):
        age = (now() - heartbeat.beat_at).total_seconds()
        alive = age <= HEARTBEAT_STALE_AFTER.total_seconds()
        fresh += alive
        state = "ok" if alive else "stale"
        click.echo(f"{heartbeat.worker}\t{state}\tlast beat {age:.0f} s ago")
    if not fresh:
        click.echo("no scheduler has beaten in the last minute", err=True)
        sys.exit(1)


@scheduler_group.command("tick")
@click.option("--at", "at", default=None, help="ISO-8601 instant with offset (default: now).")
@with_appcontext
def scheduler_tick(at: str | None) -> None:
    """Do once everything due up to that instant, then exit."""
    from datetime import datetime

    from telejt import clock
    from telejt.scheduler.runner import run_once

    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
            clock.freeze(moment)
        except ValueError:
            raise click.BadParameter(
                f"{at!r} is not an ISO-8601 instant with an offset, e.g. 2026-12-01T10:00-06:00",
                param_hint="--at",
            ) from None
    try:
        report = run_once()
    finally:
        clock.freeze(None)
    click.echo(" ".join(f"{key}={value}" for key, value in report.items()))


@cli.group("courts")
def courts_group() -> None:
    """Courts."""


@courts_group.command("create")
@click.option("--name", required=True)
@click.option("--state", required=True)
@click.option(
    "--timezone", "timezone_name", required=True, help="IANA zone, e.g. America/Monterrey"
)
@click.option("--team-phone", default=None, help="The team's phone, given to participants.")
@click.option(
    "--on-call-phone", default=None, help="Mobile an unacknowledged crisis alert is texted to."
)
@with_appcontext
def courts_create(
    name: str,
    state: str,
    timezone_name: str,
    team_phone: str | None,
    on_call_phone: str | None,
) -> None:
    """Create a court and print its id."""
    from telejt.courts.services import create_court
    from telejt.errors import InvalidInput
    from telejt.extensions import db

    try:
        court = create_court(
            name=name,
            state=state,
            timezone=timezone_name,
            team_phone=team_phone,
            on_call_phone=on_call_phone,
        )
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(court.id)


@courts_group.command("phones")
@click.option("--court", "court_id", required=True, type=int)
@click.option("--team-phone", default=None, help='The team\'s phone ("" clears it).')
@click.option("--on-call-phone", default=None, help='The on-call mobile ("" clears it).')
@with_appcontext
def courts_phones(court_id: int, team_phone: str | None, on_call_phone: str | None) -> None:
    """Set a court's team and on-call phones (only those given change)."""
    from telejt.courts.models import Court
    from telejt.courts.services import set_court_phones
    from telejt.errors import InvalidInput
    from telejt.extensions import db

    court = db.session.get(Court, court_id)
    if court is None:
        raise click.UsageError(f"no court {court_id}")
    try:
        set_court_phones(court, team_phone=team_phone, on_call_phone=on_call_phone)
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"{court.id}: team {court.team_phone or '-'}, on call {court.on_call_phone or '-'}")


@courts_group.command("unverified")
@click.option("--court", "court_id", required=True, type=int)
@click.option(
    "--positions",
    required=True,
    help="Comma-separated court positions that see a miss before it is verified "
    '(judge, prosecutor, defender, supervision_officer; "" for none).',
)
@with_appcontext
def courts_unverified(court_id: int, positions: str) -> None:
    """Choose who in a court sees unverified missed-contact notices live (audited)."""
    from telejt.courts.models import Court
    from telejt.courts.services import choose_unverified_positions
    from telejt.errors import InvalidInput
    from telejt.extensions import db

    court = db.session.get(Court, court_id)
    if court is None:
        raise click.UsageError(f"no court {court_id}")
    chosen = [p.strip() for p in positions.split(",") if p.strip()]
    try:
        choose_unverified_positions(court, chosen, None, channel="cli")
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(f"{court.id}: unverified seen by {court.unverified_positions or '-'}")


@cli.group("figures")
def figures_group() -> None:
    """The figures' stored runs (kept up to date as contacts change)."""


@figures_group.command("rebuild")
@with_appcontext
def figures_rebuild() -> None:
    """Recompute every participant's runs: after contacts written in bulk, or a new
    definition; the dashboard reads them."""
    from telejt.extensions import db
    from telejt.reports.runs import rebuild_all_runs

    count = rebuild_all_runs(db.session)
    db.session.commit()
    click.echo(f"runs recomputed for {count} participant(s)")


@cli.group("users")
def users_group() -> None:
    """Staff accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["admin", "coordinator", "therapist", "court"])
)
@click.option("--court", "court_ids", multiple=True, type=int, help="Court id (repeatable).")
@click.option("--name", default=None)
@click.option(
    "--position",
    default=None,
    help="Court users: judge, prosecutor, defender, supervision_officer.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def users_create(
    email: str,
    role: str,
    court_ids: tuple[int, ...],
    name: str | None,
    position: str | None,
    password_stdin: bool,
) -> None:
    """Create a staff account and print its id."""
    from telejt.auth.services import AccountError, create_staff_user
    from telejt.extensions import db

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        user = create_staff_user(
            email=email,
            role=role,
            name=name,
            court_ids=court_ids,
            password=password,
            court_position=position,
        )
    except AccountError as exc:
        db.session.rollback()
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(user.id)


@cli.group("tokens")
def tokens_group() -> None:
    """API tokens."""


@tokens_group.command("create")
@click.option("--email", required=True)
@click.option("--days", type=int, default=None, help="Days until it expires (default 90).")
@click.option("--read-only", is_flag=True, help="Only GET calls: reads, no changes.")
@click.option("--label", default=None, help="What the token is for.")
@with_appcontext
def tokens_create(email: str, days: int | None, read_only: bool, label: str | None) -> None:
    """Create an API token; the token alone is printed on the last line, once."""
    from sqlalchemy import select

    from telejt.auth.models import StaffUser
    from telejt.auth.services import AccountError, create_api_token
    from telejt.extensions import db

    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.is_active:
        raise click.UsageError(f"no active staff account {email}")
    try:
        row, token = create_api_token(
            user, days=days, scope="read" if read_only else "full", label=label
        )
    except AccountError as exc:
        raise click.UsageError(str(exc)) from None
    db.session.commit()
    click.echo(
        f"token {row.id} for {user.email}, {row.scope}, expires {row.expires_at:%Y-%m-%d %H:%M} UTC"
        " (shown once, store it now):"
    )
    click.echo(token)


@tokens_group.command("list")
@click.option("--email", default=None, help="Only this staff member's tokens.")
@with_appcontext
def tokens_list(email: str | None) -> None:
    """API tokens that still work: id, owner, scope, expiry, last use, label."""
    from sqlalchemy import select

    from telejt.auth.models import ApiToken, StaffUser
    from telejt.clock import now
    from telejt.extensions import db

    query = (
        select(ApiToken, StaffUser.email)
        .join(StaffUser, StaffUser.id == ApiToken.staff_id)
        .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now())
        .order_by(ApiToken.id)
    )
    if email:
        query = query.where(StaffUser.email == email.strip().lower())
    for row, owner in db.session.execute(query):
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        click.echo(
            f"{row.id}\t{row.prefix}…\t{owner}\t{row.scope}\t"
            f"expires {row.expires_at:%Y-%m-%d}\tused {used}\t{row.label or ''}"
        )


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke one API token by its id: it stops working at once."""
    from telejt.audit.services import record_access
    from telejt.auth.models import ApiToken
    from telejt.auth.services import revoke_api_token
    from telejt.extensions import db

    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.UsageError(f"no token {token_id}")
    revoke_api_token(row)
    record_access(
        None,
        "api_token.revoke",
        "api_token",
        row.id,
        channel="cli",
        detail={"staff_id": row.staff_id, "prefix": row.prefix},
    )
    db.session.commit()
    click.echo(f"token {row.id} ({row.prefix}…) revoked")


@cli.group("protocols")
def protocols_group() -> None:
    """Treatment protocols."""


@protocols_group.command("check", with_appcontext=False)
@click.argument("path", required=False, type=click.Path(path_type=Path))
def protocols_check(path: Path | None) -> None:
    """Validate protocol files (a file or a folder; default TELEJT_PROTOCOLS_DIR) and the
    host name of TELEJT_PUBLIC_URL, which every SMS link shows."""
    from telejt.protocols.loader import check_paths
    from telejt.protocols.wording import public_url_problem

    target = path or Path(os.environ.get("TELEJT_PROTOCOLS_DIR") or data_dir("protocols"))
    problems = [str(issue) for issue in check_paths([str(target)])]
    url_problem = public_url_problem(os.environ.get("TELEJT_PUBLIC_URL", ""))
    if url_problem:
        problems.append(f"TELEJT_PUBLIC_URL: {url_problem}")
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        click.echo(f"{len(problems)} error(s)", err=True)
        sys.exit(1)
    click.echo(f"{target}: ok")


@cli.group("translate")
def translate_group() -> None:
    """Babel catalogs in translations/ (es_MX and en)."""


@translate_group.command("extract", with_appcontext=False)
def translate_extract() -> None:
    """Extract every translatable string into translations/messages.pot."""
    from telejt.catalogs import extract

    extract()


@translate_group.command("update", with_appcontext=False)
def translate_update() -> None:
    """Extract, then merge new strings into the es_MX and en catalogs."""
    from telejt.catalogs import extract, update

    extract()
    update()


@translate_group.command("compile", with_appcontext=False)
def translate_compile() -> None:
    """Compile the catalogs to .mo files."""
    from telejt.catalogs import compile_catalogs

    compile_catalogs()


def main() -> None:
    """Entry point of the ``telejt`` script: configuration errors end with a clear message."""
    from telejt.config import logging_settings
    from telejt.logs import configure_logging
    from telejt.protocols.loader import ProtocolError

    try:
        configure_logging(**logging_settings(os.environ))
        cli.main(prog_name="telejt")
    except ConfigError as exc:
        click.echo(f"telejt: configuration error: {exc}", err=True)
        sys.exit(2)
    except ProtocolError as exc:
        click.echo(f"telejt: protocol error:\n{exc}", err=True)
        sys.exit(2)

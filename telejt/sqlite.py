"""SQLite, the embedded default, set up to behave like a real database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL for web and scheduler threads, and working SAVEPOINTs.

    pysqlite starts transactions lazily on its own, which breaks SAVEPOINT; the
    SQLAlchemy recipe turns that off and emits BEGIN itself. It is BEGIN IMMEDIATE:
    a transaction that reads and then writes would otherwise fail at once with
    "database is locked" when another process (a second scheduler, the web
    server) wrote in between, instead of waiting its turn.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

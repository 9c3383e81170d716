"""Settings telejt gives every database connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from telejt.extensions import db


def test_postgresql_connections_run_without_jit(app_ctx) -> None:
    """PostgreSQL's JIT once spent 400 ms compiling the dashboard's figures query
    (docs/benchmarks.md): every connection telejt opens turns it off."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TELEJT_TEST_DATABASE_URL)")
    assert db.session.scalar(text("SHOW jit")) == "off"

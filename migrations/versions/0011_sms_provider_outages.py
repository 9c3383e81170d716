"""SMS provider outages: the circuit breaker's state and record

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sms_provider_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_marker", sa.Integer(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("next_probe_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("probe_interval_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_provider_outages")),
        sa.UniqueConstraint("open_marker", name=op.f("uq_sms_provider_outages_open_marker")),
    )


def downgrade():
    op.drop_table("sms_provider_outages")

"""API writes under an Idempotency-Key: the answer each got, to give it again on a retry

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:30:00

"""

import sqlalchemy as sa
from alembic import op

import telejt.sqltypes

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", telejt.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_api_idempotency_keys_staff_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_keys")),
        sa.UniqueConstraint(
            "staff_id", "key", name=op.f("uq_api_idempotency_keys_staff_id_key")
        ),
    )


def downgrade():
    op.drop_table("api_idempotency_keys")

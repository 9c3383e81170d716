"""Verification before a breach is asserted: a miss's alert starts unverified; per-court
positions that see unverified notices; who saw an alert, each for himself

Revision ID: 0050
Revises: 0021
Create Date: 2026-12-01 23:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("verification_outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verification_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_alerts_verified_by_id_staff_users"), "staff_users", ["verified_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            op.f("ck_alerts_verification"),
            "verification IS NULL OR verification IN ('unverified', 'verified')",
        )
        batch_op.create_check_constraint(
            op.f("ck_alerts_verification_outcome"),
            "verification_outcome IS NULL OR verification_outcome IN "
            "('participant', 'justified', 'system_failure')",
        )
    # the misses already raised were never verified by anyone
    op.execute("UPDATE alerts SET verification = 'unverified' WHERE kind = 'missed_contact'")
    # a non-null column on a filled table: added with a default, then the default dropped
    with op.batch_alter_table("courts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "unverified_positions",
                sa.String(length=200),
                nullable=False,
                server_default="judge,supervision_officer",
            )
        )
    with op.batch_alter_table("courts", schema=None) as batch_op:
        batch_op.alter_column("unverified_positions", server_default=None)
    op.create_table(
        "alert_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_reads_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_alert_reads_staff_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_reads")),
        sa.UniqueConstraint(
            "alert_id", "staff_user_id", name=op.f("uq_alert_reads_alert_id_staff_user_id")
        ),
    )


def downgrade():
    op.drop_table("alert_reads")
    with op.batch_alter_table("courts", schema=None) as batch_op:
        batch_op.drop_column("unverified_positions")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alerts_verification_outcome"), type_="check")
        batch_op.drop_constraint(op.f("ck_alerts_verification"), type_="check")
        batch_op.drop_constraint(op.f("fk_alerts_verified_by_id_staff_users"), type_="foreignkey")
        batch_op.drop_column("verification_note")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verification_outcome")
        batch_op.drop_column("verification")

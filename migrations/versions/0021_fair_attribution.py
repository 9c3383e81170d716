"""Fair attribution: misses with no delivery receipt, misses after an opt-out, justifications

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 22:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

OLD = "attribution IS NULL OR attribution IN ('participant', 'system', 'excused')"
NEW = (
    "attribution IS NULL OR attribution IN "
    "('participant', 'system', 'unconfirmed', 'opted_out', 'excused')"
)
TABLES = ("contacts", "alerts")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_attribution"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_attribution"), NEW)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("justification", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("justified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("justified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_contacts_justified_by_id_staff_users"),
            "staff_users",
            ["justified_by_id"],
            ["id"],
        )


def downgrade():
    # the old schema knew these misses as his (no receipt) and the system's (opt-out)
    for table in TABLES:
        op.execute(f"UPDATE {table} SET attribution = 'participant' WHERE attribution = 'unconfirmed'")
        op.execute(f"UPDATE {table} SET attribution = 'system' WHERE attribution = 'opted_out'")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_contacts_justified_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("justified_at")
        batch_op.drop_column("justified_by_id")
        batch_op.drop_column("justification")
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_attribution"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_attribution"), OLD)

"""Alerts for sessions whose outcome was never recorded; index in-progress sessions by end

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:00:00

"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "kind IN ('missed_contact', 'reachability', 'crisis', 'reschedule_request', "
    "'technical_failure')"
)
NEW_KINDS = (
    "kind IN ('missed_contact', 'reachability', 'crisis', 'reschedule_request', "
    "'technical_failure', 'outcome_pending')"
)


def upgrade():
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alerts_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alerts_kind"), NEW_KINDS)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index("ix_contacts_status_end", ["status", "ends_at"], unique=False)


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_status_end")
    # an outcome_pending alert has no place in the old schema: it goes with the downgrade
    op.execute("DELETE FROM alerts WHERE kind = 'outcome_pending'")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alerts_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alerts_kind"), OLD_KINDS)

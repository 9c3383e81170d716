"""Alerts telling the team a participant is ready for phase review

Revision ID: 0060
Revises: 0050
Create Date: 2026-12-01 23:10:00

"""

from alembic import op

revision = "0060"
down_revision = "0050"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "kind IN ('missed_contact', 'reachability', 'crisis', 'reschedule_request', "
    "'technical_failure', 'outcome_pending')"
)
NEW_KINDS = (
    "kind IN ('missed_contact', 'reachability', 'crisis', 'reschedule_request', "
    "'technical_failure', 'outcome_pending', 'phase_review')"
)


def upgrade():
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alerts_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alerts_kind"), NEW_KINDS)


def downgrade():
    # a phase_review alert has no place in the old schema: it goes with the downgrade
    op.execute("DELETE FROM alerts WHERE kind = 'phase_review'")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alerts_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alerts_kind"), OLD_KINDS)

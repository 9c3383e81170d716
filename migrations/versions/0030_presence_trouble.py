"""Presence events: "trouble", what failed on the participant's side of a session

Revision ID: 0030
Revises: 0005
Create Date: 2026-12-02 10:00:00

"""

from alembic import op

revision = "0030"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_EVENTS = "event IN ('join', 'leave', 'reconnect', 'admit', 'phone_switch', 'nudge')"
NEW_EVENTS = "event IN ('join', 'leave', 'reconnect', 'admit', 'phone_switch', 'nudge', 'trouble')"


def upgrade():
    with op.batch_alter_table("presence_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_presence_events_event"), type_="check")
        batch_op.create_check_constraint(op.f("ck_presence_events_event"), NEW_EVENTS)


def downgrade():
    # a trouble report has no place in the old schema: it goes with the downgrade
    op.execute("DELETE FROM presence_events WHERE event = 'trouble'")
    with op.batch_alter_table("presence_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_presence_events_event"), type_="check")
        batch_op.create_check_constraint(op.f("ck_presence_events_event"), OLD_EVENTS)

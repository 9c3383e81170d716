"""Check-ins answered in part: the contact status "incomplete"

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:10:00

"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_STATUSES = (
    "status IN ('scheduled', 'confirmed', 'declined', 'in_progress', 'attended', "
    "'late', 'missed', 'excused', 'cancelled', 'completed')"
)
NEW_STATUSES = (
    "status IN ('scheduled', 'confirmed', 'declined', 'in_progress', 'attended', "
    "'late', 'missed', 'excused', 'cancelled', 'completed', 'incomplete')"
)


def upgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contacts_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_contacts_status"), NEW_STATUSES)


def downgrade():
    # the old schema knows no partial check-in: it was a miss there, his, as it was then
    op.execute(
        "UPDATE contacts SET status = 'missed', attribution = 'participant', "
        "attribution_reason = 'checkin_incomplete' WHERE status = 'incomplete'"
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_contacts_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_contacts_status"), OLD_STATUSES)

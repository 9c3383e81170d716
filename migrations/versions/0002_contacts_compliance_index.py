"""Index contacts by participant, status and deadline for the compliance figures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 01:05:00

"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_participant_status_deadline",
            ["participant_id", "status", "deadline_at"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_participant_status_deadline")

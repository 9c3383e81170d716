"""Contacts: the protocol rule that planned each one

Revision ID: 0020
Revises: 0040
Create Date: 2026-12-01 22:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade():
    # nullable: contacts planned before this revision keep no rule, and are read as
    # before (their phase's first rule of their kind)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("protocol_rule", sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("protocol_rule")

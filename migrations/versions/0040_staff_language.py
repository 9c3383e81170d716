"""Staff language and zone: the language switch saved per account, and the zone his pages use

Revision ID: 0040
Revises: 0013
Create Date: 2026-12-01 22:30:00

``staff_users.locale`` existed (None follows the browser) with no rule: it now takes
only the languages telejt speaks. ``staff_users.timezone`` is new: None shows times in
his first court's zone, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # a language telejt does not speak was never served: it meant "follow the browser"
    op.execute("UPDATE staff_users SET locale = NULL WHERE locale NOT IN ('es_MX', 'en')")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_staff_users_locale"), "locale IS NULL OR locale IN ('es_MX', 'en')"
        )


def downgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_users_locale"), type_="check")
        batch_op.drop_column("timezone")

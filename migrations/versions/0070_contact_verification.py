"""Verification kept on the miss itself: who confirmed a miss as his, when and why

Revision ID: 0070
Revises: 0060
Create Date: 2026-12-02 01:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0070"
down_revision = "0060"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verification_note", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_contacts_verified_by_id_staff_users"),
            "staff_users",
            ["verified_by_id"],
            ["id"],
        )
    # a miss whose alert was verified already is verified: the alert's verifier, time
    # and note move onto the miss (the dedupe key of a miss's alert is "missed:<id>")
    op.execute(
        """
        UPDATE contacts SET
            verified_at = (SELECT a.verified_at FROM alerts a
                           WHERE a.dedupe_key = 'missed:' || contacts.id),
            verified_by_id = (SELECT a.verified_by_id FROM alerts a
                              WHERE a.dedupe_key = 'missed:' || contacts.id),
            verification_note = (SELECT a.verification_note FROM alerts a
                                 WHERE a.dedupe_key = 'missed:' || contacts.id)
        WHERE EXISTS (SELECT 1 FROM alerts a
                      WHERE a.dedupe_key = 'missed:' || contacts.id
                        AND a.verification = 'verified')
        """
    )


def downgrade():
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_contacts_verified_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("verification_note")
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("verified_at")
